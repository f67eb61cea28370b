import Overlay
import Sodium
import Testing
import Wire

@Suite struct TopicRingsTests {
    @Test func positionIsBLAKE2bOfTopicAndBroker() throws {
        let topic = try SigningPublicKey([UInt8](repeating: 1, count: 32))
        let broker = try SigningPublicKey([UInt8](repeating: 2, count: 32))
        let digest = BLAKE2b.hash([UInt8](repeating: 1, count: 32) + [UInt8](repeating: 2, count: 32), outputByteCount: 32)
        #expect(RingPosition(topic: topic, broker: broker).shortDescription == Hex.encode(Array(digest.prefix(8))))
    }

    @Test func clockwiseDistanceWrapsAround() {
        let topic = newTopic()
        let positions = (0..<20).map { _ in RingPosition(topic: topic, broker: TestBroker().id) }
        for a in positions {
            for b in positions where a != b {
                // Going a → b and b → a covers the ring once: the two distances are each other's complement.
                let there = a.distance(clockwiseTo: b)
                let back = b.distance(clockwiseTo: a)
                #expect((there < back) != (back < there))
                #expect(a.distance(clockwiseTo: a) < there)
            }
        }
    }

    @Test func keepsTheNearestTwoOnEachSide() {
        let topic = newTopic()
        let key = BloomFilter.Key(topic.bytes)
        let me = TestBroker(topics: [topic])
        let others = (0..<12).map { _ in TestBroker(topics: [topic]) }
        let bystanders = (0..<5).map { _ in TestBroker(topics: [newTopic()]) }
        var rings = TopicRings(me: me.id, side: 2)
        rings.serve(TopicInterest([topic]))
        // Offered in small batches, as exchanges would bring them.
        let all = (others + bystanders).map(\.entry)
        for start in stride(from: 0, to: all.count, by: 3) { rings.consider(Array(all[start..<min(all.count, start + 3)]), for: topic, key: key) }
        let mine = RingPosition(topic: topic, broker: me.id)
        let byClockwise = others.sorted { mine.distance(clockwiseTo: RingPosition(topic: topic, broker: $0.id))
            < mine.distance(clockwiseTo: RingPosition(topic: topic, broker: $1.id)) }.map(\.id)
        let ring = rings.ring(topic)!
        #expect(ring.successors.map(\.broker) == Array(byClockwise.prefix(2)))
        #expect(ring.predecessors.map(\.broker) == Array(byClockwise.suffix(2).reversed()))
        #expect(rings.emptySlots(topic) == 0)
    }

    @Test func aPeerThatDoesNotServeTheTopicIsLeftOutUntilItsProfileChanges() {
        let topic = newTopic()
        let key = BloomFilter.Key(topic.bytes)
        let me = TestBroker(topics: [topic])
        let claimant = TestBroker(topics: [topic])  // as a Bloom false positive would look
        var rings = TopicRings(me: me.id, side: 2)
        rings.serve(TopicInterest([topic]))
        rings.consider([claimant.entry], for: topic, key: key)
        rings.doesNotServe(claimant.entry, topic)
        #expect(rings.ring(topic)!.members.isEmpty)
        #expect(rings.consider([claimant.entry], for: topic, key: key).isEmpty)
        let renewed = BrokerProfile(broker: claimant.id, issued: 2, address: "127.0.0.1:1",
                                    topics: BrokerProfile.topicFilter([key])).signed(by: claimant.keys)
        #expect(rings.consider([ViewEntry(profile: renewed)], for: topic, key: key) == [claimant.id])
    }
}

@Suite struct DisseminationTests {
    private func ring() -> (TopicRings.Ring, [TestBroker]) {
        let peers = (0..<4).map { _ in TestBroker() }
        var ring = TopicRings.Ring()
        ring.predecessors = [peers[0].entry, peers[1].entry]
        ring.successors = [peers[2].entry, peers[3].entry]
        return (ring, peers)
    }

    @Test func fromAPredecessorItGoesOnToTheSuccessorNotBack() {
        let (ring, peers) = ring()
        var random = SeededRandom(seed: 3)
        let targets = Dissemination.targets(from: peers[0].id, ring: ring, subscribers: [], fanout: 5, random: &random)
        #expect(targets == [peers[2].id])
    }

    @Test func fromASuccessorItGoesOnToThePredecessor() {
        let (ring, peers) = ring()
        var random = SeededRandom(seed: 3)
        let targets = Dissemination.targets(from: peers[2].id, ring: ring, subscribers: [], fanout: 5, random: &random)
        #expect(targets == [peers[0].id])
    }

    @Test func publishedHereItGoesBothWaysPlusFanoutMinusTwoOthers() {
        let (ring, peers) = ring()
        let others = (0..<10).map { _ in TestBroker().id }
        var random = SeededRandom(seed: 3)
        let targets = Dissemination.targets(from: nil, ring: ring, subscribers: others, fanout: 5, random: &random)
        #expect(Array(targets.prefix(2)) == [peers[0].id, peers[2].id])
        #expect(targets.count == 5 && Set(targets).count == 5)
        let relayed = Dissemination.targets(from: others[0], ring: ring, subscribers: others, fanout: 5, random: &random)
        #expect(relayed.count == 5 && !relayed.contains(others[0]))
        let fromRing = Dissemination.targets(from: peers[1].id, ring: ring, subscribers: others, fanout: 5, random: &random)
        #expect(fromRing.first == peers[2].id && fromRing.count == 5 && !fromRing.contains(peers[1].id))
    }
}
