import Overlay
import Testing
import Wire

@Suite struct ClusteringTests {
    @Test func keepsTheMostSimilarPeersNotTheLeast() {
        let topics = (0..<4).map { _ in newTopic() }
        let me = TestBroker(topics: topics)
        let strangers = (0..<6).map { _ in TestBroker(topics: [newTopic()]) }
        let oneShared = TestBroker(topics: [topics[0]])
        let allShared = TestBroker(topics: topics)
        var clustering = Clustering(me: me.id, capacity: 2, gossipLength: 3)
        clustering.merge(strangers.map(\.entry) + [oneShared.entry, allShared.entry], pool: [], interest: TopicInterest(topics))
        #expect(clustering.view.map(\.broker) == [allShared.id, oneShared.id])
    }

    @Test func emptyRingSlotsRankFirst() {
        let topics = (0..<3).map { _ in newTopic() }
        let me = TestBroker(topics: topics)
        // Four peers fill topics[0]'s ring, so a peer sharing only topics[1] (ring empty) beats one sharing topics[0].
        let sharesFull = TestBroker(topics: [topics[0]])
        let sharesEmpty = TestBroker(topics: [topics[1]])
        let fillers = (0..<4).map { _ in TestBroker(topics: [topics[0]]) }
        var node = OverlayNode(profile: me.profile, topics: topics, seed: 1)
        _ = node.met(sharesFull.profile, now: 0)
        for filler in fillers { _ = node.met(filler.profile, now: 0) }
        _ = node.met(sharesEmpty.profile, now: 0)
        #expect(node.rings.emptySlots(topics[0]) == 0 && node.rings.emptySlots(topics[1]) == 2)
        #expect(node.clustering.view.first?.broker == sharesEmpty.id)
    }

    @Test func answersOfferWhatSuitsTheRequester() {
        let topic = newTopic()
        let me = TestBroker(topics: [newTopic()])
        let requester = TestBroker(topics: [topic])
        let match = TestBroker(topics: [topic])
        let others = (0..<5).map { _ in TestBroker(topics: [newTopic()]) }
        var clustering = Clustering(me: me.id, capacity: 10, gossipLength: 1)
        let reply = clustering.answer(from: requester.id, entries: [requester.entry], pool: others.map(\.entry) + [match.entry],
                                      interest: TopicInterest([]))
        #expect(reply.map(\.broker) == [match.id])
    }
}
