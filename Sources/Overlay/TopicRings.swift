import Wire

/// Per-topic rings (PolderCast's Rings layer): for each topic we serve, the brokers serving it
/// that stand nearest to us on its ring, `side` on each side. The rings make dissemination
/// complete; positions come from `RingPosition`.
public struct TopicRings: Sendable {
    /// Our neighbours on one topic's ring, nearest first on each side.
    public struct Ring: Sendable, Equatable {
        /// Counter-clockwise of us.
        public var predecessors: [ViewEntry] = []
        /// Clockwise of us.
        public var successors: [ViewEntry] = []

        public init(predecessors: [ViewEntry] = [], successors: [ViewEntry] = []) {
            self.predecessors = predecessors
            self.successors = successors
        }

        public var members: [ViewEntry] { predecessors + successors.filter { s in !predecessors.contains { $0.broker == s.broker } } }

        func contains(_ peer: PeerID) -> Bool {
            predecessors.contains { $0.broker == peer } || successors.contains { $0.broker == peer }
        }
    }

    public let me: PeerID
    public let side: Int
    public private(set) var rings: [TopicID: Ring] = [:]
    private var positions: [TopicID: RingPosition] = [:]
    /// Peers whose filter claims a topic they told us they do not serve (a Bloom false positive),
    /// with the profile that claimed it; a newer profile is believed again.
    private var notServing: [TopicID: [PeerID: UInt64]] = [:]

    public init(me: PeerID, side: Int) {
        self.me = me
        self.side = side
    }

    /// Starts or stops rings to match the topics we serve.
    public mutating func serve(_ interest: TopicInterest) {
        for topic in rings.keys where !interest.contains(topic) {
            rings[topic] = nil
            positions[topic] = nil
            notServing[topic] = nil
        }
        for topic in interest.topics where rings[topic] == nil {
            rings[topic] = Ring()
            positions[topic] = RingPosition(topic: topic, broker: me)
        }
    }

    public func ring(_ topic: TopicID) -> Ring? { rings[topic] }

    /// Ring slots still empty for `topic`: PolderCast's priority for finding neighbours there.
    public func emptySlots(_ topic: TopicID) -> Int {
        guard let ring = rings[topic] else { return 0 }
        return 2 * side - ring.predecessors.count - ring.successors.count
    }

    public mutating func remove(_ peer: PeerID) {
        for (topic, ring) in rings where ring.contains(peer) {
            var updated = ring
            updated.predecessors.removeAll { $0.broker == peer }
            updated.successors.removeAll { $0.broker == peer }
            rings[topic] = updated
        }
    }

    /// `peer` said it does not serve `topic` although its profile's filter matches it.
    public mutating func doesNotServe(_ peer: ViewEntry, _ topic: TopicID) {
        guard var ring = rings[topic] else { return }
        notServing[topic, default: [:]][peer.broker] = peer.profile.profile.issued
        ring.predecessors.removeAll { $0.broker == peer.broker }
        ring.successors.removeAll { $0.broker == peer.broker }
        rings[topic] = ring
    }

    /// Takes the nearest of `candidates` that serve `topic`; returns the peers that became
    /// neighbours.
    @discardableResult
    public mutating func consider(_ candidates: [ViewEntry], for topic: TopicID, key: BloomFilter.Key) -> [PeerID] {
        guard let ring = rings[topic], let mine = positions[topic] else { return [] }
        // Most calls bring nobody new: find that out before placing anyone.
        let refused = notServing[topic] ?? [:]
        var fresh: [ViewEntry] = []
        for entry in candidates where entry.broker != me && !ring.contains(entry.broker)
            && !fresh.contains(where: { $0.broker == entry.broker }) && TopicInterest.serves(entry.profile, key) {
            if let issued = refused[entry.broker], issued >= entry.profile.profile.issued { continue }
            fresh.append(entry)
        }
        guard !fresh.isEmpty else { return [] }
        let placed = (ring.members + fresh).map { entry in
            let position = RingPosition(topic: topic, broker: entry.broker)
            return (entry: entry, clockwise: mine.distance(clockwiseTo: position), counter: position.distance(clockwiseTo: mine))
        }
        var updated = Ring()
        updated.successors = placed.sorted { $0.clockwise < $1.clockwise }.prefix(side).map(\.entry)
        updated.predecessors = placed.sorted { $0.counter < $1.counter }.prefix(side).map(\.entry)
        rings[topic] = updated
        return updated.members.map(\.broker).filter { !ring.contains($0) }
    }

    /// Candidates for a peer at `position` on `topic`'s ring: those we know nearest to it, either way.
    public func nearest(_ count: Int, to position: RingPosition, on topic: TopicID, from candidates: [ViewEntry],
                        key: BloomFilter.Key, excluding peer: PeerID) -> [ViewEntry] {
        var seen: Set<PeerID> = [peer]
        var placed: [(entry: ViewEntry, distance: RingPosition)] = []
        for entry in candidates where TopicInterest.serves(entry.profile, key) && seen.insert(entry.broker).inserted {
            let other = RingPosition(topic: topic, broker: entry.broker)
            placed.append((entry, min(position.distance(clockwiseTo: other), other.distance(clockwiseTo: position))))
        }
        return placed.sorted { $0.distance < $1.distance }.prefix(count).map(\.entry)
    }
}
