import Wire

/// VICINITY clustering (Voulgaris, van Steen) with PolderCast's ranking: a view of the peers most
/// similar to us by topics, drawing candidates from its own view, from exchanges, and from the
/// CYCLON view (the randomness it needs to converge). It keeps the *most* similar peers (the
/// reference code sorted the wrong way and kept the least similar).
public struct Clustering: Sendable {
    public let me: PeerID
    public let capacity: Int
    public let gossipLength: Int
    public private(set) var view: [ViewEntry] = []

    public init(me: PeerID, capacity: Int, gossipLength: Int) {
        self.me = me
        self.capacity = capacity
        self.gossipLength = gossipLength
    }

    public mutating func remove(_ peer: PeerID) {
        view.removeAll { $0.broker == peer }
    }

    /// Starts an exchange with the oldest peer in the view (or a random one from `pool` while the
    /// view is empty): our fresh entry plus the candidates best for it.
    public mutating func startExchange(me ownEntry: ViewEntry, pool: [ViewEntry], random: inout SeededRandom)
        -> (target: PeerID, entries: [ViewEntry])? {
        for index in view.indices where view[index].age < .max { view[index].age += 1 }
        let target: ViewEntry
        if let oldest = view.indices.max(by: { view[$0].age < view[$1].age }) {
            target = view[oldest]
        } else if let any = pool.randomElement(using: &random) {
            target = any
        } else {
            return nil
        }
        let offered = Self.best(gossipLength - 1, for: target.profile, from: view + pool)
        return (target.broker, [ownEntry] + offered)
    }

    /// Answers an exchange: the candidates best for the requester, then takes what it offered.
    public mutating func answer(from requester: PeerID, entries received: [ViewEntry], pool: [ViewEntry],
                                interest: TopicInterest) -> [ViewEntry] {
        let reply: [ViewEntry]
        if let requesterEntry = received.first(where: { $0.broker == requester }) {
            reply = Self.best(gossipLength, for: requesterEntry.profile, from: view + pool)
        } else {
            reply = Array(view.prefix(gossipLength))
        }
        merge(received, pool: pool, interest: interest)
        return reply
    }

    /// Keeps the `capacity` most similar peers among the view, `received` and `pool`.
    public mutating func merge(_ received: [ViewEntry], pool: [ViewEntry], interest: TopicInterest) {
        var byPeer: [PeerID: ViewEntry] = [:]
        for entry in view + received + pool where entry.broker != me {
            if let held = byPeer[entry.broker] {
                var newer = entry.profile.profile.issued > held.profile.profile.issued ? entry : held
                newer.age = min(entry.age, held.age)
                byPeer[entry.broker] = newer
            } else {
                byPeer[entry.broker] = entry
            }
        }
        let ranked = byPeer.values.map { (entry: $0, proximity: interest.proximity(of: $0.profile)) }
        view = ranked.sorted { a, b in
            if a.proximity != b.proximity { return a.proximity > b.proximity }  // most similar first
            if a.entry.age != b.entry.age { return a.entry.age < b.entry.age }
            return a.entry.broker < b.entry.broker
        }.prefix(capacity).map(\.entry)
    }

    /// The candidates most similar to `target`, judged by the bits their topic filters share.
    static func best(_ count: Int, for target: SignedBrokerProfile, from candidates: [ViewEntry]) -> [ViewEntry] {
        var seen: Set<PeerID> = [target.broker]
        var scored: [(entry: ViewEntry, shared: Int)] = []
        for entry in candidates where seen.insert(entry.broker).inserted {
            scored.append((entry, entry.profile.profile.topics.sharedBitCount(with: target.profile.topics)))
        }
        return scored.sorted { a, b in
            a.shared != b.shared ? a.shared > b.shared : a.entry.broker < b.entry.broker
        }.prefix(count).map(\.entry)
    }
}
