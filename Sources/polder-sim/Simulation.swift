import Overlay
import Sodium
import Wire

/// N brokers running the production `OverlayNode` in one process. Messages go through a queue
/// instead of sockets; time advances one period (1 s) per round; brokers can vanish (churn) or be
/// split into two halves (a partition). Every figure the report prints is measured here.
final class Simulation {
    private struct Broker {
        var node: OverlayNode
        let archive = SimulatedArchive()
        let id: PeerID
        /// The key pair's seed: key pairs live in guarded memory, too scarce for 10,000 at once,
        /// so the simulator makes one only to sign.
        let seed: [UInt8]
        let topics: [TopicID]

        func keyPair() -> SigningKeyPair { try! SigningKeyPair(seed: SecureBytes(seed)) }
        var alive = true
        /// Sequence of our last event per topic, and the events delivered since we last published there.
        var published: [TopicID: (sequence: UInt64, last: EventID?)] = [:]
        var seenSincePublishing: [TopicID: [EventID]] = [:]
        /// Per published event (by index): hops of its first receipt, and the round it was delivered.
        var hops: [Int: Int] = [:]
        var deliveredRound: [Int: Int] = [:]
        var deliveryOrder: [Int] = []
    }

    private struct Message {
        let to: Int
        let from: Int
        let message: PeerMessage
        let hops: Int
    }

    let options: SimulationOptions
    private var brokers: [Broker] = []
    private var index: [PeerID: Int] = [:]
    private var topics: [TopicID] = []
    private var servers: [TopicID: [Int]] = [:]
    private var random: SeededRandom
    private var queue: [Message] = []
    private var queueHead = 0
    private var round = 0
    private var partitioned = false
    private var published: [SignedEvent] = []
    private var eventIndex: [EventID: Int] = [:]
    private var positions: [TopicID: [Int: RingPosition]] = [:]
    var statistics = SimulationStatistics()

    init(options: SimulationOptions) {
        self.options = options
        random = SeededRandom(seed: options.seed)
    }

    // MARK: Set-up

    func build() {
        topics = (0..<options.topics).map { _ in SigningKeyPair().publicKey }
        let weights: [Double] = (1...options.topics).map { options.zipf ? 1.0 / Double($0) : 1.0 }
        var parameters = OverlayParameters()
        parameters.fanout = options.fanout
        for number in 0..<options.brokers {
            let seed = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
            let keys = try! SigningKeyPair(seed: SecureBytes(seed))
            let chosen = pickTopics(weights: weights)
            let profile = BrokerProfile(broker: keys.publicKey, issued: 1, address: "sim:\(number)",
                                        topics: BrokerProfile.topicFilter(chosen.map { BloomFilter.Key($0.bytes) })).signed(by: keys)
            let node = OverlayNode(profile: profile, topics: chosen, parameters: parameters, seed: random.next())
            brokers.append(Broker(node: node, id: keys.publicKey, seed: seed, topics: chosen))
            index[keys.publicKey] = number
            for topic in chosen { servers[topic, default: []].append(number) }
        }
        for topic in topics {
            var placed: [Int: RingPosition] = [:]
            for server in servers[topic] ?? [] { placed[server] = RingPosition(topic: topic, broker: brokers[server].id) }
            positions[topic] = placed
        }
        // Each broker starts knowing a few others, as a bootstrap list would give it.
        for number in brokers.indices {
            for _ in 0..<5 {
                let other = Int.random(in: 0..<brokers.count, using: &random)
                guard other != number else { continue }
                let profile = brokers[other].node.profile
                perform(brokers[number].node.met(profile, now: 0), at: number)
            }
        }
        drain()
    }

    private func pickTopics(weights: [Double]) -> [TopicID] {
        let total = weights.reduce(0, +)
        var chosen: Set<Int> = []
        let wanted = min(options.topicsPerBroker, options.topics)
        while chosen.count < wanted {
            var point = Double.random(in: 0..<total, using: &random)
            var pick = 0
            while pick < weights.count - 1 && point >= weights[pick] {
                point -= weights[pick]
                pick += 1
            }
            chosen.insert(pick)
        }
        return chosen.sorted().map { topics[$0] }
    }

    // MARK: Running

    /// Runs every phase and returns the figures.
    func run(progress: (String) -> Void) -> SimulationStatistics {
        for _ in 0..<options.warmUpRounds {
            tickAll()
            let completeness = ringCompleteness()
            if completeness >= 1.0 && statistics.roundsToConverge == nil { statistics.roundsToConverge = round }
            statistics.completenessAfterWarmUp = completeness
            if round % 10 == 0 { progress("round \(round): ring completeness \(percent(completeness))") }
        }
        statistics.controlMessagesPerBrokerPerRound = Double(statistics.controlMessages) / Double(options.brokers * max(1, round))
        if options.churn > 0 {
            let victims = Array(brokers.indices).randomSample(Int(Double(options.brokers) * options.churn), using: &random)
            for victim in victims { brokers[victim].alive = false }
            progress("churn: \(victims.count) brokers vanished")
        }
        if options.partitionRounds > 0 {
            partitioned = true
            progress("partition: two halves of \(options.brokers / 2) brokers")
        }
        let publishingRounds = (options.events + options.eventsPerRound - 1) / options.eventsPerRound
        let partitionEnds = round + options.partitionRounds
        for _ in 0..<max(publishingRounds, options.partitionRounds) {
            if partitioned && round >= partitionEnds { heal(progress) }
            if published.count < options.events {
                for _ in 0..<min(options.eventsPerRound, options.events - published.count) { publishOne() }
            }
            tickAll()
        }
        if partitioned { heal(progress) }
        statistics.pushDelivery = deliveryRatio(pushOnly: true)
        progress("published \(published.count) events; push delivery \(percent(statistics.pushDelivery))")
        for _ in 0..<options.repairRounds { tickAll() }
        statistics.delivery = deliveryRatio(pushOnly: false)
        statistics.ringCompleteness = ringCompleteness()
        statistics.events = published.count
        summarizeHopsAndOrder()
        return statistics
    }

    private func heal(_ progress: (String) -> Void) {
        partitioned = false
        progress("partition healed at round \(round)")
    }

    private func tickAll() {
        round += 1
        let now = UInt64(round) * 1000
        for number in brokers.indices where brokers[number].alive {
            perform(brokers[number].node.tick(now: now), at: number)
            drain()
        }
    }

    private func publishOne() {
        let topic = topics.randomElement(using: &random)!
        guard let publisher = (servers[topic] ?? []).filter({ brokers[$0].alive }).randomElement(using: &random) else { return }
        let state = brokers[publisher].published[topic]
        var dependencies = Array((brokers[publisher].seenSincePublishing[topic] ?? []).suffix(3))
        if let last = state?.last { dependencies.append(last) }
        let event = Event(topic: topic, publisher: brokers[publisher].id, sequence: (state?.sequence ?? 0) + 1,
                          dependencies: dependencies, time: UInt64(round) * 1000, epoch: 1, payload: [UInt8](repeating: 7, count: 64))
            .signed(by: brokers[publisher].keyPair())
        brokers[publisher].published[topic] = (event.event.sequence, event.id)
        brokers[publisher].seenSincePublishing[topic] = []
        eventIndex[event.id] = published.count
        published.append(event)
        let now = UInt64(round) * 1000
        let (_, actions) = brokers[publisher].node.publish(event, now: now, archive: brokers[publisher].archive)
        perform(actions, at: publisher)
        drain()
    }

    private func perform(_ actions: [OverlayNode.Action], at number: Int) {
        for action in actions {
            switch action {
            case let .send(message, to: peer):
                guard let target = index[peer] else { continue }
                var hops = 0
                if case .event(let event) = message {
                    statistics.eventMessages += 1
                    hops = (eventIndex[event.id].flatMap { brokers[number].hops[$0] } ?? 0) + 1
                } else {
                    statistics.controlMessages += 1
                }
                queue.append(Message(to: target, from: number, message: message, hops: hops))
            case let .deliver(event, _):
                brokers[number].archive.append(event)
                guard let eventNumber = eventIndex[event.id] else { continue }
                if brokers[number].deliveredRound[eventNumber] != nil { statistics.doubleDeliveries += 1 }
                brokers[number].deliveredRound[eventNumber] = round
                brokers[number].deliveryOrder.append(eventNumber)
                if brokers[number].hops[eventNumber] == nil { brokers[number].hops[eventNumber] = 0 }
                if event.event.publisher != brokers[number].id {
                    brokers[number].seenSincePublishing[event.event.topic, default: []].append(event.id)
                }
            case .notice(let notice):
                switch notice {
                case .skipped: statistics.skips += 1
                case .dependencyUnavailable: statistics.unavailableDependencies += 1
                }
            case .equivocation:
                statistics.equivocations += 1
            case .peerFailed:
                statistics.peerFailures += 1
            }
        }
    }

    private func drain() {
        let now = UInt64(round) * 1000
        while queueHead < queue.count {
            let item = queue[queueHead]
            queueHead += 1
            guard brokers[item.from].alive else { continue }
            guard brokers[item.to].alive else {
                // A broker that is gone refuses the connection, as a real link would report.
                brokers[item.from].node.unreachable(brokers[item.to].id)
                continue
            }
            guard !partitioned || (item.to < options.brokers / 2) == (item.from < options.brokers / 2) else { continue }
            if case .event(let event) = item.message, let eventNumber = eventIndex[event.id] {
                if brokers[item.to].hops[eventNumber] == nil {
                    brokers[item.to].hops[eventNumber] = item.hops
                } else {
                    statistics.duplicateReceipts += 1
                }
            }
            let actions = brokers[item.to].node.receive(item.message, from: brokers[item.from].id, now: now,
                                                        archive: brokers[item.to].archive)
            perform(actions, at: item.to)
        }
        queue.removeAll(keepingCapacity: true)
        queueHead = 0
    }

    // MARK: Measuring

    /// The share of (live broker, topic) rings that hold exactly the true nearest neighbours.
    func ringCompleteness() -> Double {
        var complete = 0
        var total = 0
        for topic in topics {
            let live = (servers[topic] ?? []).filter { brokers[$0].alive }
            guard live.count > 1, let placed = positions[topic] else { continue }
            let ordered = live.sorted { placed[$0]! < placed[$1]! }
            let side = min(2, live.count - 1)
            for (offset, number) in ordered.enumerated() {
                total += 1
                let successors = (1...side).map { ordered[(offset + $0) % ordered.count] }
                let predecessors = (1...side).map { ordered[(offset - $0 + ordered.count) % ordered.count] }
                guard let ring = brokers[number].node.rings.ring(topic) else { continue }
                if ring.successors.compactMap({ index[$0.broker] }) == successors
                    && ring.predecessors.compactMap({ index[$0.broker] }) == predecessors {
                    complete += 1
                }
            }
        }
        return total == 0 ? 1 : Double(complete) / Double(total)
    }

    private func deliveryRatio(pushOnly: Bool) -> Double {
        var expected = 0
        var delivered = 0
        for (number, event) in published.enumerated() {
            for server in servers[event.event.topic] ?? [] where brokers[server].alive {
                expected += 1
                if let at = brokers[server].deliveredRound[number], !pushOnly || at == publishRound(of: number) { delivered += 1 }
            }
        }
        return expected == 0 ? 1 : Double(delivered) / Double(expected)
    }

    private func publishRound(of number: Int) -> Int {
        Int(published[number].event.time / 1000)
    }

    private func summarizeHopsAndOrder() {
        var hops: [Int] = []
        var receivers = 0
        for broker in brokers where broker.alive {
            for (number, _) in broker.deliveredRound { hops.append(broker.hops[number] ?? 0) }
            receivers += broker.deliveredRound.count
            // Causal order: every dependency and previous sequence delivered here came first.
            var position: [EventID: Int] = [:]
            for (place, number) in broker.deliveryOrder.enumerated() {
                let event = published[number]
                for dependency in event.event.dependencies {
                    if let before = position[dependency] {
                        if before > place { statistics.causalViolations += 1 }
                    } else if eventIndex[dependency].map({ broker.deliveredRound[$0] != nil }) == true {
                        statistics.causalViolations += 1
                    }
                }
                position[event.id] = place
            }
        }
        hops.sort()
        statistics.meanHops = hops.isEmpty ? 0 : Double(hops.reduce(0, +)) / Double(hops.count)
        statistics.p99Hops = hops.isEmpty ? 0 : hops[min(hops.count - 1, hops.count * 99 / 100)]
        statistics.deliveries = receivers
    }
}

func percent(_ value: Double) -> String {
    let scaled = (value * 10_000).rounded() / 100
    return "\(scaled) %"
}

