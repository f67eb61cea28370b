@testable import Broker
import PolderClient
import Sodium
@testable import Store
import Testing
import Wire

/// The broker's table of topics, whose one-entry cache must never answer for another topic.
@Suite struct TopicTableTests {
    private func descriptor() throws -> SignedTopicDescriptor {
        try NewTopic.make(name: "t", owner: SigningKeyPair(), openPublishing: true, publishers: [], readers: []).0
    }

    @Test func lookupsAnswerForTheTopicAskedAboutWhateverWasAskedBefore() throws {
        let (a, b, c) = (try descriptor(), try descriptor(), try descriptor())
        var contents = BrokerStore.Contents()
        contents.descriptors = [a.descriptor.topic: a, b.descriptor.topic: b]
        contents.logs = [a.descriptor.topic: TopicLog()]
        let table = TopicTable(contents: contents)
        for topic in [a, b, b, a, c, a].map(\.descriptor.topic) {
            #expect(table[topic]?.descriptor.descriptor.topic == (topic == c.descriptor.topic ? nil : topic))
        }
        table.stored(c)
        #expect(table[c.descriptor.topic]?.descriptor == c)
        #expect(table[a.descriptor.topic]?.descriptor == a)
        // A topic with events in the store is served from the start; the others once a client uses them.
        #expect(table.served == [a.descriptor.topic])
        table[b.descriptor.topic]?.isServed = true
        #expect(table.served == [a.descriptor.topic, b.descriptor.topic])
    }
}
