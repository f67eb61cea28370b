import Wire

/// One broker's whole overlay as a pure state machine: CYCLON peer sampling, VICINITY
/// clustering, per-topic rings, PolderCast dissemination and causal delivery with repair. The
/// broker and the simulator drive it the same way: `tick` once per period, `receive` for each
/// peer message, `publish` for each local event; it answers with `Action`s and never touches a
/// socket or a clock. Signatures and topic admission are checked by the caller before events and
/// profiles come in.
public struct OverlayNode: Sendable {
    /// What the caller must do.
    public enum Action: Sendable, Equatable {
        case send(PeerMessage, to: PeerID)
        /// Deliver (store, then hand to subscribers) in this order.
        case deliver(SignedEvent, from: PeerID?)
        case notice(CausalDelivery.Notice)
        /// `event`'s publisher signed another event, `existing`, with the same sequence.
        case equivocation(SignedEvent, existing: EventID)
        /// The peer stopped answering and was dropped from every view.
        case peerFailed(PeerID)
    }

    public let me: PeerID
    public let parameters: OverlayParameters
    public private(set) var profile: SignedBrokerProfile
    public private(set) var interest: TopicInterest
    public private(set) var sampling: PeerSampling
    public private(set) var clustering: Clustering
    public private(set) var rings: TopicRings
    public private(set) var causal: CausalDelivery
    public private(set) var latency = LatencyEstimate()
    private var random: SeededRandom
    private var period: UInt64 = 0
    /// Replies expected, by peer: when the oldest unanswered request went out (ms).
    private var awaiting: [PeerID: UInt64] = [:]
    /// Peers that stopped answering, probed now and then so that a healed partition or a
    /// restarted broker joins again.
    private var dormant: [PeerID: SignedBrokerProfile] = [:]
    private let maximumDormant = 256
    /// How long a peer may leave a request unanswered before it counts as failed (ms).
    public var replyTimeout: UInt64 = 5_000

    public init(profile: SignedBrokerProfile, topics: some Sequence<TopicID>, parameters: OverlayParameters = OverlayParameters(),
                seed: UInt64) {
        me = profile.broker
        self.parameters = parameters
        self.profile = profile
        interest = TopicInterest(topics)
        sampling = PeerSampling(me: me, capacity: parameters.samplingViewSize, shuffleLength: parameters.shuffleLength)
        clustering = Clustering(me: me, capacity: parameters.clusterViewSize, gossipLength: parameters.clusterGossipLength)
        rings = TopicRings(me: me, side: parameters.ringSide)
        causal = CausalDelivery(maximumHeld: parameters.maximumHeldEvents, recentlyDelivered: parameters.recentlyDeliveredSize,
                                dependencyAttempts: parameters.dependencyAttempts)
        random = SeededRandom(seed: seed)
        rings.serve(interest)
        updatePriorities()
    }

    // MARK: Inputs

    /// A new profile of ours, for a changed set of topics.
    public mutating func update(profile: SignedBrokerProfile, topics: some Sequence<TopicID>, now: UInt64) -> [Action] {
        precondition(profile.broker == me)
        self.profile = profile
        let before = Set(interest.topics)
        interest = TopicInterest(topics)
        rings.serve(interest)
        var actions: [Action] = []
        for topic in interest.topics where !before.contains(topic) {
            // Joining a topic: find its ring among the peers we know, and sync from them.
            actions += joined(considerRing(topic), topic: topic, now: now)
        }
        updatePriorities()
        return actions
    }

    /// Takes the causal state the caller kept (its store) from before a restart.
    public mutating func restore(topic: TopicID, publisher: PeerID, head: CausalDelivery.Head) {
        causal.setHead(topic: topic, publisher: publisher, head)
    }

    /// Takes back the delivery of an event the caller's store refused (`CausalDelivery.forget`).
    public mutating func forget(_ event: SignedEvent, committed: UInt64, archive: some EventArchive) {
        causal.forget(event, committed: committed, archive: archive)
    }

    /// A peer we learned of outside the overlay's exchanges: bootstrap, remembered, or a new link.
    public mutating func met(_ peer: SignedBrokerProfile, now: UInt64) -> [Action] {
        guard peer.broker != me else { return [] }
        let entry = ViewEntry(profile: peer)
        sampling.add(peer)
        clustering.merge([entry], pool: [], interest: interest)
        return learned([entry], now: now)
    }

    /// The caller lost its link to `peer` and could not restore it.
    public mutating func unreachable(_ peer: PeerID) {
        forget(peer)
    }

    /// One period: shuffle, cluster, tend one ring, maybe sync one topic, and send due repairs.
    public mutating func tick(now: UInt64) -> [Action] {
        period += 1
        var actions: [Action] = []
        for (peer, since) in awaiting where now >= since + replyTimeout {
            forget(peer)
            actions.append(.peerFailed(peer))
        }
        let own = ViewEntry(profile: profile)
        if period % 5 == 0, let (peer, _) = dormant.randomElement(using: &random), awaiting[peer] == nil {
            actions.append(request(.shuffle([own]), to: peer, now: now))
        }
        if let (target, entries) = sampling.startShuffle(me: own, random: &random) {
            actions.append(request(.shuffle(entries), to: target, now: now))
        }
        if let (target, entries) = clustering.startExchange(me: own, pool: sampling.view, random: &random) {
            actions.append(request(.cluster(entries), to: target, now: now))
        }
        let topics = interest.topics.sorted { $0 < $1 }
        if !topics.isEmpty {
            let topic = topics[Int(period % UInt64(topics.count))]
            actions += joined(considerRing(topic), topic: topic, now: now)
            let key = interest.keys[topic]!
            let partners = rings.ring(topic)?.members.map(\.broker) ?? []
            let fallback = (clustering.view + sampling.view).filter { TopicInterest.serves($0.profile, key) }.map(\.broker)
            if let partner = (partners.isEmpty ? fallback : partners).randomElement(using: &random) {
                let offered = rings.nearest(parameters.ringGossipLength - 1, to: RingPosition(topic: topic, broker: partner), on: topic,
                                            from: candidates(), key: key, excluding: partner)
                actions.append(request(.ring(topic: topic, entries: [own] + offered), to: partner, now: now))
            }
            if period % UInt64(parameters.syncEveryPeriods) == 0 {
                for syncTopic in topics {
                    if let partner = rings.ring(syncTopic)?.members.randomElement(using: &random) {
                        actions.append(.send(syncRequest(syncTopic), to: partner.broker))
                    }
                }
            }
        }
        actions += repairs(now: now)
        updatePriorities()
        return actions
    }

    /// An event published by a local client. The caller reads the arrival to answer the client;
    /// released events come back as `.deliver` actions.
    public mutating func publish(_ event: SignedEvent, now: UInt64, archive: some EventArchive) -> (CausalDelivery.Arrival, [Action]) {
        let arrival = causal.receive(event, from: nil, now: now, repairDelay: repairDelay, archive: archive)
        return (arrival, actions(for: arrival, event: event))
    }

    /// One message from `peer` (whose link is authenticated).
    public mutating func receive(_ message: PeerMessage, from peer: PeerID, now: UInt64, archive: some EventArchive) -> [Action] {
        var message = message
        if !dormant.isEmpty { message = withoutDormant(message, sender: peer) }
        switch message {
        case .hello(let profile):
            guard profile.broker == peer else { return [] }
            return met(profile, now: now)
        case .shuffle(let entries):
            let reply = sampling.answerShuffle(from: peer, entries: entries, random: &random)
            return [.send(.shuffleReply(reply), to: peer)] + learned(entries, now: now)
        case .shuffleReply(let entries):
            let actions = answered(peer, now: now)
            sampling.finishShuffle(from: peer, entries: entries)
            return actions + learned(entries, now: now)
        case .cluster(let entries):
            let reply = clustering.answer(from: peer, entries: entries, pool: sampling.view, interest: interest)
            return [.send(.clusterReply(reply), to: peer)] + learned(entries, now: now)
        case .clusterReply(let entries):
            let actions = answered(peer, now: now)
            clustering.merge(entries, pool: sampling.view, interest: interest)
            return actions + learned(entries, now: now)
        case let .ring(topic, entries):
            var actions: [Action] = []
            if let key = interest.keys[topic] {
                actions += joined(rings.consider(entries, for: topic, key: key), topic: topic, now: now)
            }
            // A broker serving the topic answers with itself first; one that does not, without.
            let key = BloomFilter.Key(topic.bytes)
            let serving = interest.contains(topic)
            var reply = serving ? [ViewEntry(profile: profile)] : []
            reply += rings.nearest(parameters.ringGossipLength - reply.count, to: RingPosition(topic: topic, broker: peer), on: topic,
                                   from: candidates(), key: key, excluding: peer)
            updatePriorities()
            return actions + [.send(.ringReply(topic: topic, entries: reply), to: peer)]
        case let .ringReply(topic, entries):
            var actions = answered(peer, now: now)
            guard let key = interest.keys[topic] else { return actions }
            if entries.first?.broker != peer, let known = knownProfile(peer) {
                rings.doesNotServe(ViewEntry(profile: known), topic)
            }
            actions += joined(rings.consider(entries, for: topic, key: key), topic: topic, now: now)
            updatePriorities()
            return actions
        case .event(let event):
            guard interest.contains(event.event.topic) else { return [] }
            let arrival = causal.receive(event, from: peer, now: now, repairDelay: repairDelay, archive: archive)
            return actions(for: arrival, event: event)
        case let .requestRange(topic, publisher, from, to):
            return answerRange(topic: topic, publisher: publisher, from: from, to: to, to: peer, archive: archive)
        case let .requestIDs(topic, ids):
            var found: [SignedEvent] = []
            var missing: [EventID] = []
            for id in ids {
                if let event = archive.event(topic: topic, id: id) { found.append(event) } else { missing.append(id) }
            }
            return archive.completingChains(found).map { .send(.event($0), to: peer) }
                + (missing.isEmpty ? [] : [.send(.missingIDs(topic: topic, ids: missing), to: peer)])
        case let .missingRange(topic, publisher, from, to, pruned):
            return deliveries(causal.rangeMissing(topic: topic, publisher: publisher, from: from, to: to, pruned: pruned))
        case let .missingIDs(_, ids):
            return deliveries(causal.idsMissing(ids, reportedBy: peer))
        case let .sync(topic, heads, held):
            return answerSync(topic: topic, heads: heads, held: held, to: peer, archive: archive)
        case let .syncDone(topic, floors, more):
            var actions: [Action] = []
            for floor in floors {
                actions += deliveries(causal.floor(topic: topic, publisher: floor.publisher, floor: floor.sequence))
            }
            if more && interest.contains(topic) { actions.append(.send(syncRequest(topic), to: peer)) }
            return actions
        case .ping(let nonce):
            return [.send(.pong(nonce: nonce), to: peer)]
        case .pong, .descriptor:
            return []
        }
    }

    // MARK: Queries

    /// Every peer in a view or ring, with its newest profile: the links worth keeping.
    public var neighbours: [PeerID: SignedBrokerProfile] {
        var result: [PeerID: SignedBrokerProfile] = [:]
        for entry in candidates() where result[entry.broker].map({ $0.profile.issued < entry.profile.profile.issued }) ?? true {
            result[entry.broker] = entry.profile
        }
        return result
    }

    /// The newest profile we hold for `peer`, including peers that stopped answering: where to reach it.
    public func profile(of peer: PeerID) -> SignedBrokerProfile? {
        knownProfile(peer) ?? dormant[peer]
    }

    /// Peers serving `topic` that we know of (ring neighbours first).
    public func servers(of topic: TopicID) -> [PeerID] {
        servers(of: topic, ring: rings.ring(topic))
    }

    /// `servers(of:)` with the topic's ring already looked up.
    private func servers(of topic: TopicID, ring: TopicRings.Ring?) -> [PeerID] {
        var result: [PeerID] = []
        if let ring, !ring.predecessors.isEmpty || !ring.successors.isEmpty { result = ring.members.map(\.broker) }
        guard !clustering.view.isEmpty || !sampling.view.isEmpty else { return result }  // no views: no hashing either
        let key = BloomFilter.Key(topic.bytes)
        for entry in clustering.view + sampling.view where TopicInterest.serves(entry.profile, key) && !result.contains(entry.broker) {
            result.append(entry.broker)
        }
        return result
    }

    public var repairDelay: UInt64 {
        latency.repairDelay(bounds: parameters.minimumRepairDelay...parameters.maximumRepairDelay)
    }

    // MARK: Internals

    /// Drops gossiped entries of peers that stopped answering us, unless the entry is newer than
    /// what we last knew: others may not have noticed yet, and would hand the dead back to us.
    private func withoutDormant(_ message: PeerMessage, sender: PeerID) -> PeerMessage {
        func filter(_ entries: [ViewEntry]) -> [ViewEntry] {
            entries.filter { entry in
                guard entry.broker != sender, let known = dormant[entry.broker] else { return true }
                return entry.profile.profile.issued > known.profile.issued
            }
        }
        switch message {
        case .shuffle(let entries): return .shuffle(filter(entries))
        case .shuffleReply(let entries): return .shuffleReply(filter(entries))
        case .cluster(let entries): return .cluster(filter(entries))
        case .clusterReply(let entries): return .clusterReply(filter(entries))
        case let .ring(topic, entries): return .ring(topic: topic, entries: filter(entries))
        case let .ringReply(topic, entries): return .ringReply(topic: topic, entries: filter(entries))
        default: return message
        }
    }

    /// The newest profile of `peer` in any view or ring.
    private func knownProfile(_ peer: PeerID) -> SignedBrokerProfile? {
        candidates().filter { $0.broker == peer }.max { $0.profile.profile.issued < $1.profile.profile.issued }?.profile
    }

    private func candidates() -> [ViewEntry] {
        var entries = clustering.view + sampling.view
        for ring in rings.rings.values { entries += ring.members }
        return entries
    }

    private mutating func request(_ message: PeerMessage, to peer: PeerID, now: UInt64) -> Action {
        if awaiting[peer] == nil { awaiting[peer] = now }
        return .send(message, to: peer)
    }

    /// A reply came: measure the round trip; a dormant peer is back.
    private mutating func answered(_ peer: PeerID, now: UInt64) -> [Action] {
        if let since = awaiting.removeValue(forKey: peer) { latency.record(roundTripMilliseconds: now - since) }
        guard let profile = dormant.removeValue(forKey: peer) else { return [] }
        return met(profile, now: now)
    }

    private mutating func forget(_ peer: PeerID) {
        awaiting[peer] = nil
        if let profile = knownProfile(peer) {
            if dormant.count >= maximumDormant, let evicted = dormant.keys.first { dormant[evicted] = nil }
            dormant[peer] = profile
        }
        sampling.remove(peer)
        clustering.remove(peer)
        rings.remove(peer)
        updatePriorities()
    }

    /// Entries heard of in an exchange may be ring neighbours.
    private mutating func learned(_ entries: [ViewEntry], now: UInt64) -> [Action] {
        var actions: [Action] = []
        for (topic, key) in interest.keys {
            actions += joined(rings.consider(entries, for: topic, key: key), topic: topic, now: now)
        }
        updatePriorities()
        return actions
    }

    /// New ring neighbours get a ring exchange (which also confirms they serve the topic) and a
    /// sync, so that a broker joining a topic or a healed partition catches up at once.
    private mutating func joined(_ added: [PeerID], topic: TopicID, now: UInt64) -> [Action] {
        guard let key = interest.keys[topic] else { return [] }
        var actions: [Action] = []
        for peer in added {
            let offered = rings.nearest(parameters.ringGossipLength - 1, to: RingPosition(topic: topic, broker: peer), on: topic,
                                        from: candidates(), key: key, excluding: peer)
            actions.append(request(.ring(topic: topic, entries: [ViewEntry(profile: profile)] + offered), to: peer, now: now))
            actions.append(.send(syncRequest(topic), to: peer))
        }
        return actions
    }

    /// Offers every peer we know to `topic`'s ring; returns the new neighbours.
    private mutating func considerRing(_ topic: TopicID) -> [PeerID] {
        guard let key = interest.keys[topic] else { return [] }
        return rings.consider(clustering.view + sampling.view, for: topic, key: key)
    }

    private mutating func updatePriorities() {
        for topic in interest.topics { interest.priorities[topic] = rings.emptySlots(topic) }
    }

    /// Our heads and a filter of what we hold undelivered; at most 1,024 heads and a 4 KiB
    /// filter, so that the request always fits one frame (a false positive only delays an event
    /// to the next repair).
    private func syncRequest(_ topic: TopicID) -> PeerMessage {
        let heldIDs = causal.heldIDs(topic: topic)
        var filter = BloomFilter(capacity: min(heldIDs.count, (1 << Limits.maximumProfileFilterLog2) / 10), bitsPerItem: 10)
        for id in heldIDs { filter.insert(BloomFilter.Key(id.bytes)) }
        return .sync(topic: topic, heads: Array(causal.heads(topic: topic).prefix(Limits.maximumSyncHeads)), held: filter)
    }

    private mutating func actions(for arrival: CausalDelivery.Arrival, event: SignedEvent) -> [Action] {
        switch arrival {
        case .accepted(let released): deliveries(released)
        case .equivocation(let existing): [.equivocation(event, existing: existing)]
        case .duplicate, .overflow: []
        }
    }

    /// Delivers released events and forwards each once, by PolderCast's rule.
    private mutating func deliveries(_ released: [CausalDelivery.Delivery]) -> [Action] {
        var actions: [Action] = []
        for delivery in released {
            actions.append(.deliver(delivery.event, from: delivery.source))
            let topic = delivery.event.event.topic
            guard let ring = rings.ring(topic) else { continue }
            let subscribers = servers(of: topic, ring: ring)
            guard !subscribers.isEmpty else { continue }  // no peer serves the topic (every ring member is one)
            let targets = Dissemination.targets(from: delivery.source, ring: ring, subscribers: subscribers,
                                                fanout: parameters.fanout, random: &random)
            for target in targets { actions.append(.send(.event(delivery.event), to: target)) }
        }
        return actions + causal.takeNotices().map { .notice($0) }
    }

    private mutating func repairs(now: UInt64) -> [Action] {
        var actions: [Action] = []
        var idRequests: [PeerID: [TopicID: [EventID]]] = [:]
        let (due, released) = causal.dueRepairs(now: now, repairDelay: repairDelay, maximumDelay: parameters.maximumRepairDelay)
        for repair in due {
            switch repair {
            case let .range(topic, publisher, from, to, source, attempt):
                if let peer = repairPeer(topic: topic, source: source, attempt: attempt) {
                    actions.append(.send(.requestRange(topic: topic, publisher: publisher, from: from, to: to), to: peer))
                }
            case let .id(topic, id, source, attempt):
                if let peer = repairPeer(topic: topic, source: source, attempt: attempt) {
                    idRequests[peer, default: [:]][topic, default: []].append(id)
                }
            }
        }
        for (peer, byTopic) in idRequests {
            for (topic, ids) in byTopic {
                for start in stride(from: 0, to: ids.count, by: Limits.maximumRequestedIDs) {
                    let chunk = Array(ids[start..<min(ids.count, start + Limits.maximumRequestedIDs)])
                    actions.append(.send(.requestIDs(topic: topic, ids: chunk), to: peer))
                }
            }
        }
        return actions + deliveries(released)
    }

    /// The peer the event came from first, then ring neighbours, then other servers of the topic.
    private mutating func repairPeer(topic: TopicID, source: PeerID?, attempt: Int) -> PeerID? {
        let servers = servers(of: topic)
        if attempt == 0, let source { return source }
        guard !servers.isEmpty else { return source }
        return servers[attempt % servers.count]
    }

    private func answerRange(topic: TopicID, publisher: PeerID, from: UInt64, to: UInt64, to peer: PeerID,
                             archive: some EventArchive) -> [Action] {
        let head = causal.head(topic: topic, publisher: publisher)?.sequence ?? 0
        let found = from <= head
            ? archive.events(topic: topic, publisher: publisher, from: from, through: min(to, head), limit: parameters.syncBatch) : []
        var actions = archive.completingChains(found).map { Action.send(.event($0), to: peer) }
        let firstFound = found.first?.event.sequence ?? (min(to, head) + 1)
        if from <= head && from < firstFound {
            actions.append(.send(.missingRange(topic: topic, publisher: publisher, from: from, to: firstFound - 1, pruned: true), to: peer))
        }
        if to > head {
            actions.append(.send(.missingRange(topic: topic, publisher: publisher, from: max(from, head + 1), to: to, pruned: false), to: peer))
        }
        return actions
    }

    private func answerSync(topic: TopicID, heads: [PublisherSequence], held: BloomFilter, to peer: PeerID,
                            archive: some EventArchive) -> [Action] {
        guard interest.contains(topic) else { return [.send(.syncDone(topic: topic, floors: [], more: false), to: peer)] }
        let theirs = Dictionary(heads.map { ($0.publisher, $0.sequence) }, uniquingKeysWith: max)
        var budget = parameters.syncBatch
        var actions: [Action] = []
        var floors: [PublisherSequence] = []
        var more = false
        for mine in causal.heads(topic: topic) {
            let after = theirs[mine.publisher] ?? 0
            guard mine.sequence > after else { continue }
            guard let floor = archive.floor(topic: topic, publisher: mine.publisher) else {
                // Nothing kept at all: everything up to our head is gone.
                floors.append(PublisherSequence(publisher: mine.publisher, sequence: mine.sequence + 1))
                continue
            }
            if floor > after + 1 { floors.append(PublisherSequence(publisher: mine.publisher, sequence: floor)) }
            guard budget > 0 else {
                more = true
                continue
            }
            let events = archive.events(topic: topic, publisher: mine.publisher, from: after + 1, through: mine.sequence, limit: budget)
            budget -= events.count
            if events.count < Int(mine.sequence - after) && budget == 0 { more = true }
            let wanted = events.filter { !held.contains(BloomFilter.Key($0.id.bytes)) }
            for event in archive.completingChains(wanted) { actions.append(.send(.event(event), to: peer)) }
        }
        actions.append(.send(.syncDone(topic: topic, floors: Array(floors.prefix(Limits.maximumSyncHeads)), more: more), to: peer))
        return actions
    }
}
