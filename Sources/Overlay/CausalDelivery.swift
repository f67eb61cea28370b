import Wire

/// Reliable causal delivery for every topic a broker serves (and for the client library): an
/// event is delivered only after its publisher's previous sequence and every dependency it lists.
/// Events that arrive early are held; what they wait for is requested after a delay, and only
/// given up when a peer says it was pruned (sequences) or after repeated requests (dependencies).
/// Two different events signed with one sequence are reported as equivocation.
public struct CausalDelivery: Sendable {
    /// The last delivered sequence of a publisher; `id` is nil after a skip over pruned events.
    public struct Head: Sendable, Equatable {
        public var sequence: UInt64
        public var id: EventID?

        public init(sequence: UInt64, id: EventID?) {
            self.sequence = sequence
            self.id = id
        }
    }

    /// An event ready for delivery and the peer it came from (nil: published here).
    public struct Delivery: Sendable, Equatable {
        public let event: SignedEvent
        public let source: PeerID?
    }

    public enum Arrival: Sendable, Equatable {
        /// Taken: `released` are the events now deliverable, in a causal order (empty while it waits).
        case accepted(released: [Delivery])
        case duplicate
        /// The publisher signed another event with this sequence: the one held or delivered.
        case equivocation(existing: EventID)
        /// Too many events are held already; it was not kept (a later sync brings it again).
        case overflow
    }

    /// Something to ask peers for.
    public enum Repair: Sendable, Equatable {
        case range(topic: TopicID, publisher: PeerID, from: UInt64, to: UInt64, source: PeerID?, attempt: Int)
        case id(topic: TopicID, id: EventID, source: PeerID?, attempt: Int)
    }

    /// Losses that delivery had to accept, for logs, counters and subscribers.
    public enum Notice: Sendable, Equatable {
        /// Sequences `from`…`to` of `publisher` are gone everywhere we asked: delivery went on after them.
        case skipped(topic: TopicID, publisher: PeerID, from: UInt64, to: UInt64)
        /// No peer had this dependency; the events waiting for it were delivered without it.
        case dependencyUnavailable(topic: TopicID, id: EventID)
    }

    struct PublisherKey: Hashable, Sendable {
        let topic: TopicID
        let publisher: PeerID
    }

    private struct Held: Sendable {
        let event: SignedEvent
        let source: PeerID?
        var unmet: Set<EventID>
    }

    private struct Missing: Sendable {
        let topic: TopicID
        let source: PeerID?
        var attempts = 0
        var nextAt: UInt64
    }

    public let maximumHeld: Int
    public let dependencyAttempts: Int
    private var heads: [TopicID: [PeerID: Head]] = [:]
    /// The head written last and whose it is: a publisher's next event reads it back (the broker's
    /// gap check, then `receive`) with a compare instead of hashing two keys. Every write goes
    /// through `setHead(_:for:)`, which keeps it current.
    private var lastWritten: (key: PublisherKey, head: Head)?
    private var held: [EventID: Held] = [:]
    private var heldBySequence: [PublisherKey: [UInt64: EventID]] = [:]
    private var waitingFor: [EventID: Set<EventID>] = [:]
    private var missingDependencies: [EventID: Missing] = [:]
    private var gaps: [PublisherKey: Missing] = [:]
    private var recentlyDelivered: SeenCache<EventID>
    private var unavailable: SeenCache<EventID>
    public private(set) var notices: [Notice] = []

    public init(maximumHeld: Int = 100_000, recentlyDelivered: Int = 65_536, dependencyAttempts: Int = 8) {
        self.maximumHeld = maximumHeld
        self.dependencyAttempts = dependencyAttempts
        self.recentlyDelivered = SeenCache(capacity: recentlyDelivered)
        unavailable = SeenCache(capacity: 4096)
    }

    /// Events held waiting, over all topics.
    public var heldCount: Int { held.count }

    public func head(topic: TopicID, publisher: PeerID) -> Head? { head(PublisherKey(topic: topic, publisher: publisher)) }

    private func head(_ key: PublisherKey) -> Head? {
        if let lastWritten, lastWritten.key == key { return lastWritten.head }
        return heads[key.topic]?[key.publisher]
    }

    private mutating func setHead(_ head: Head, for key: PublisherKey) {
        heads[key.topic, default: [:]][key.publisher] = head
        lastWritten = (key, head)
    }

    /// Every publisher's last delivered sequence on `topic`.
    public func heads(topic: TopicID) -> [PublisherSequence] {
        (heads[topic] ?? [:]).map { PublisherSequence(publisher: $0.key, sequence: $0.value.sequence) }
            .sorted { $0.publisher < $1.publisher }
    }

    /// Takes a head known from before (the broker's store at start-up).
    public mutating func setHead(topic: TopicID, publisher: PeerID, _ head: Head) {
        setHead(head, for: PublisherKey(topic: topic, publisher: publisher))
    }

    /// IDs of the events held for `topic`.
    public func heldIDs(topic: TopicID) -> [EventID] {
        held.compactMap { $0.value.event.event.topic == topic ? $0.key : nil }
    }

    public mutating func takeNotices() -> [Notice] {
        defer { notices.removeAll() }
        return notices
    }

    /// Takes back the delivery of an event the caller could not keep (its store refused it): the
    /// publisher's head goes back to just before it, unless an earlier failure already put it
    /// lower or `committed` (the caller's last kept sequence) is at or past it. The event itself,
    /// a retry of it, or a peer's copy is then taken again.
    public mutating func forget(_ signed: SignedEvent, committed: UInt64, archive: some EventArchive) {
        let event = signed.event
        recentlyDelivered.remove(signed.id)
        let key = PublisherKey(topic: event.topic, publisher: event.publisher)
        guard let head = head(key), head.sequence >= event.sequence, committed < event.sequence else { return }
        let previous = event.sequence - 1
        setHead(Head(sequence: previous, id: previous == 0 ? nil : archive.eventID(topic: event.topic, publisher: event.publisher, sequence: previous)),
                for: key)
    }

    public func isDelivered(topic: TopicID, id: EventID, archive: some EventArchive) -> Bool {
        recentlyDelivered.contains(id) || unavailable.contains(id) || archive.contains(topic: topic, id: id)
    }

    /// Takes an event whose signature and admission were checked, from `source` (nil: published here).
    public mutating func receive(_ signed: SignedEvent, from source: PeerID?, now: UInt64, repairDelay: UInt64,
                                 archive: some EventArchive) -> Arrival {
        let event = signed.event
        let key = PublisherKey(topic: event.topic, publisher: event.publisher)
        let head = head(key)
        if let head, event.sequence <= head.sequence {
            let existing = event.sequence == head.sequence
                ? head.id : archive.eventID(topic: event.topic, publisher: event.publisher, sequence: event.sequence)
            if let existing, existing != signed.id { return .equivocation(existing: existing) }
            return .duplicate
        }
        if !heldBySequence.isEmpty, let other = heldBySequence[key]?[event.sequence] {
            return other == signed.id ? .duplicate : .equivocation(existing: other)
        }
        // A loop, not a filter closure: a closure here would copy the whole struct per event.
        var unmet: Set<EventID> = []
        for dependency in event.dependencies where dependency != head?.id {  // the head was delivered
            if !isDelivered(topic: event.topic, id: dependency, archive: archive) { unmet.insert(dependency) }
        }
        let next = (head?.sequence ?? 0) + 1
        if unmet.isEmpty && event.sequence == next {
            // The usual case: in order, with everything it follows delivered; it is never held,
            // so it is taken even when the held events fill the buffer.
            return .accepted(released: [Delivery(event: signed, source: source)] + release(recordDelivery(of: signed, key: key)))
        }
        guard held.count < maximumHeld else { return .overflow }
        for dependency in unmet {
            waitingFor[dependency, default: []].insert(signed.id)
            if held[dependency] == nil && missingDependencies[dependency] == nil {
                missingDependencies[dependency] = Missing(topic: event.topic, source: source, nextAt: now + repairDelay)
            }
        }
        missingDependencies[signed.id] = nil
        held[signed.id] = Held(event: signed, source: source, unmet: unmet)
        heldBySequence[key, default: [:]][event.sequence] = signed.id
        if event.sequence > next && heldBySequence[key]?[next] == nil && gaps[key] == nil {
            gaps[key] = Missing(topic: event.topic, source: source, nextAt: now + repairDelay)
        }
        return .accepted(released: release([signed.id]))
    }

    /// Requests due at `now`, each scheduled again with a doubled delay (at most `maximumDelay`),
    /// and the events released by dependencies given up after their last attempt.
    public mutating func dueRepairs(now: UInt64, repairDelay: UInt64, maximumDelay: UInt64)
        -> (repairs: [Repair], released: [Delivery]) {
        var repairs: [Repair] = []
        func backOff(_ missing: inout Missing) {
            missing.attempts += 1
            missing.nextAt = now + min(maximumDelay, repairDelay << UInt64(min(missing.attempts, 16)))
        }
        for (key, var gap) in gaps where gap.nextAt <= now {
            guard let range = gapRange(key) else {
                gaps[key] = nil
                continue
            }
            repairs.append(.range(topic: key.topic, publisher: key.publisher, from: range.from, to: range.to, source: gap.source,
                                  attempt: gap.attempts))
            backOff(&gap)
            gaps[key] = gap
        }
        var givenUp: [EventID] = []
        for (id, var missing) in missingDependencies where missing.nextAt <= now {
            if missing.attempts >= dependencyAttempts {
                givenUp.append(id)
                continue
            }
            repairs.append(.id(topic: missing.topic, id: id, source: missing.source, attempt: missing.attempts))
            backOff(&missing)
            missingDependencies[id] = missing
        }
        var released: [Delivery] = []
        for id in givenUp { released += giveUp(id) }
        return (repairs, released)
    }

    /// A peer lacks `from`…`to`: if it says they were pruned, delivery skips them.
    public mutating func rangeMissing(topic: TopicID, publisher: PeerID, from: UInt64, to: UInt64, pruned: Bool) -> [Delivery] {
        guard pruned else { return [] }
        return skip(topic: topic, publisher: publisher, through: to)
    }

    /// A peer lacks these IDs. If it is the peer the waiting event came from, nobody has them.
    public mutating func idsMissing(_ ids: [EventID], reportedBy peer: PeerID) -> [Delivery] {
        var released: [Delivery] = []
        for id in ids where missingDependencies[id]?.source == peer {
            released += giveUp(id)
        }
        return released
    }

    /// A peer keeps nothing of `publisher` below `floor`: skip to it when we are further behind.
    public mutating func floor(topic: TopicID, publisher: PeerID, floor: UInt64) -> [Delivery] {
        guard floor > 1 else { return [] }
        return skip(topic: topic, publisher: publisher, through: floor - 1)
    }

    private mutating func skip(topic: TopicID, publisher: PeerID, through last: UInt64) -> [Delivery] {
        let key = PublisherKey(topic: topic, publisher: publisher)
        let current = head(key)?.sequence ?? 0
        guard last > current else { return [] }
        // Never skip over an event we hold.
        let heldBelow = (heldBySequence[key] ?? [:]).keys.filter { $0 <= last }.min()
        let through = heldBelow.map { $0 - 1 } ?? last
        guard through > current else { return [] }
        notices.append(.skipped(topic: topic, publisher: publisher, from: current + 1, to: through))
        setHead(Head(sequence: through, id: nil), for: key)
        if gapRange(key) == nil { gaps[key] = nil }
        return release(heldBySequence[key]?[through + 1].map { [$0] } ?? [])
    }

    private mutating func giveUp(_ id: EventID) -> [Delivery] {
        guard let missing = missingDependencies.removeValue(forKey: id) else { return [] }
        unavailable.insert(id)
        notices.append(.dependencyUnavailable(topic: missing.topic, id: id))
        return satisfied(id)
    }

    /// Marks `id` as no longer awaited by the events waiting for it; returns what that releases.
    private mutating func satisfied(_ id: EventID) -> [Delivery] {
        guard let waiters = waitingFor.removeValue(forKey: id) else { return [] }
        for waiter in waiters { held[waiter]?.unmet.remove(id) }
        return release(Array(waiters))
    }

    /// The sequences missing before the first held event of `key`, if any.
    private func gapRange(_ key: PublisherKey) -> (from: UInt64, to: UInt64)? {
        let next = (head(key)?.sequence ?? 0) + 1
        guard let waiting = heldBySequence[key], waiting[next] == nil, let first = waiting.keys.min(), first > next else { return nil }
        return (next, first - 1)
    }

    /// Delivers every held event that is ready, starting from `candidates`, and what they unblock.
    private mutating func release(_ candidates: [EventID]) -> [Delivery] {
        var delivered: [Delivery] = []
        var work = candidates
        while let id = work.popLast() {
            guard let entry = held[id], entry.unmet.isEmpty else { continue }
            let event = entry.event.event
            let key = PublisherKey(topic: event.topic, publisher: event.publisher)
            guard event.sequence == (head(key)?.sequence ?? 0) + 1 else { continue }
            held[id] = nil
            heldBySequence[key]?[event.sequence] = nil
            if heldBySequence[key]?.isEmpty == true { heldBySequence[key] = nil }
            delivered.append(Delivery(event: entry.event, source: entry.source))
            work += recordDelivery(of: entry.event, key: key)
        }
        return delivered
    }

    /// Makes a delivered event its publisher's head; returns the held events it may release. The
    /// emptiness checks spare the hashing when nothing is held or missing, as is usual.
    private mutating func recordDelivery(of signed: SignedEvent, key: PublisherKey) -> [EventID] {
        setHead(Head(sequence: signed.event.sequence, id: signed.id), for: key)
        recentlyDelivered.insert(signed.id)
        if !missingDependencies.isEmpty { missingDependencies[signed.id] = nil }
        if !gaps.isEmpty, gapRange(key) == nil { gaps[key] = nil }
        var unblocked: [EventID] = []
        if !heldBySequence.isEmpty, let following = heldBySequence[key]?[signed.event.sequence + 1] { unblocked.append(following) }
        if !waitingFor.isEmpty, let waiters = waitingFor.removeValue(forKey: signed.id) {
            for waiter in waiters {
                held[waiter]?.unmet.remove(signed.id)
                unblocked.append(waiter)
            }
        }
        return unblocked
    }
}
