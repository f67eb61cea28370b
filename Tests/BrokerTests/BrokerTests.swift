import Broker
import PolderClient
import Sodium
import Testing
import TestSupport
import Wire

@Suite(.timeLimit(.minutes(1))) struct BrokerTests {
    let alice = SigningKeyPair(), bob = SigningKeyPair(), carol = SigningKeyPair()

    /// A broker, a topic of Alice's that Bob reads, their clients, Bob's subscription and
    /// `count` events of Alice's, signed one by one.
    func aliceToBob(events count: Int, verifierThreads: Int = 2) async throws
        -> (BrokerFixture, TestTopic, publisher: PolderClient, subscriber: PolderClient, Subscription, [SignedEvent]) {
        let broker = try await BrokerFixture { $0.verifierThreads = verifierThreads }
        let publisher = try await broker.connect(alice)
        let subscriber = try await broker.connect(bob)
        let topic = try await TestTopic(on: publisher, owner: alice, readers: [bob])
        let stream = try await subscriber.subscribe(topic.id)
        var events: [SignedEvent] = []
        for sequence in 1...count { events.append(try topic.event("message \(sequence)", by: alice, sequence: UInt64(sequence))) }
        return (broker, topic, publisher, subscriber, stream, events)
    }

    /// With verifier threads and without them (every signature checked on the loop).
    @Test(arguments: [2, 0]) func readersReceiveEncryptedEventsInPublishOrder(verifierThreads: Int) async throws {
        let (broker, topic, publisher, subscriber, stream, events) = try await aliceToBob(events: 300, verifierThreads: verifierThreads)
        try await publisher.publish(events)  // pipelined: signatures checked in parallel, accepted in order
        let received = await collect(stream, count: 300)
        #expect(received.map(\.id) == events.map(\.id))
        let bobsView = topic.access(bob)
        #expect(try bobsView.decrypt(received[41]) == Array("message 42".utf8))
        // The broker only ever saw ciphertext.
        #expect(!received[41].event.payload.contains(Array("message 42".utf8)))
        let statistics = await broker.statistics()
        #expect(statistics.eventsAccepted == 300)
        #expect(statistics.eventsDelivered == 300)
        publisher.close(); subscriber.close()
        await broker.stop()
    }

    /// Of the signatures one loop turn checks, the last is checked on the loop and the others on
    /// the verifier threads (or, without them, all on the loop): a forged one in either place
    /// refuses the connection, and exactly the authentic events before it are accepted.
    @Test(arguments: [2, 4], [2, 0]) func aForgedEventAmongOthersCheckedInOneTurn(forgedIndex: Int, verifierThreads: Int) async throws {
        let (broker, _, publisher, subscriber, stream, signed) = try await aliceToBob(events: 5, verifierThreads: verifierThreads)
        var events = signed
        var forged = events[forgedIndex].encoded
        forged[forged.count - 1] ^= 1  // the signature's last byte
        events[forgedIndex] = try SignedEvent.decode(forged)
        await #expect(throws: ClientError.self) { try await publisher.publish(events) }  // one batch: one turn
        #expect(await collect(stream, count: 5, seconds: 0.5).map(\.id) == events[..<forgedIndex].map(\.id))
        let statistics = await broker.statistics()
        #expect(statistics.eventsAccepted == forgedIndex)
        #expect(statistics.connectionsClosed[ErrorCode.badSignature.metricLabel] == 1)
        try await subscriber.ping()
        publisher.close(); subscriber.close()
        await broker.stop()
    }

    @Test func publisherNotOnTheAllowListIsRefused() async throws {
        let broker = try await BrokerFixture()
        let owner = try await broker.connect(alice)
        let outsider = try await broker.connect(carol)
        let topic = try await TestTopic(on: owner, owner: alice, readers: [bob])
        let event = try topic.event("spam", by: carol, sequence: 1)
        await #expect(throws: ClientError(.refused(.notAllowedToPublish), "\(carol.publicKey.text) may not publish on topic \(topic.id.text)")) {
            try await outsider.publish(event)
        }
        // Refusal is per request: the connection goes on.
        try await outsider.ping()
        owner.close(); outsider.close()
        await broker.stop()
    }

    @Test func openTopicTakesWriteOnlyPublishersThatCannotRead() async throws {
        let broker = try await BrokerFixture()
        let owner = try await broker.connect(alice)
        let writer = try await broker.connect(carol)
        let topic = try await TestTopic(on: owner, owner: alice, open: true)
        let stream = try await owner.subscribe(topic.id)
        let carolsView = topic.access(carol)
        #expect(!carolsView.isReader && carolsView.mayPublish)
        let event = try carolsView.makeEvent(Array("tip".utf8), sequence: 1, dependencies: [], time: 1)
        try await writer.publish(event)
        let received = await collect(stream, count: 1)
        #expect(try topic.access(alice).decrypt(received[0]) == Array("tip".utf8))
        #expect(throws: ClientError.self) { try carolsView.decrypt(received[0]) }
        owner.close(); writer.close()
        await broker.stop()
    }

    @Test func onlyReadersMaySubscribe() async throws {
        let broker = try await BrokerFixture()
        let owner = try await broker.connect(alice)
        let outsider = try await broker.connect(carol)
        let topic = try await TestTopic(on: owner, owner: alice, readers: [bob])
        await #expect(throws: ClientError.self) { _ = try await outsider.subscribe(topic.id) }
        await #expect(throws: ClientError.self) { _ = try await outsider.subscribe(SigningKeyPair().publicKey) }
        owner.close(); outsider.close()
        await broker.stop()
    }

    @Test func removedReaderStopsReceiving() async throws {
        let broker = try await BrokerFixture()
        let owner = try await broker.connect(alice)
        let reader = try await broker.connect(bob)
        let topic = try await TestTopic(on: owner, owner: alice, readers: [bob])
        let stream = try await reader.subscribe(topic.id)
        try await owner.publish(try topic.event("before", by: alice, sequence: 1))
        #expect(await collect(stream, count: 1).count == 1)
        var next = topic.descriptor.descriptor
        next.revision = 2
        next.readers.removeAll { $0.reader == bob.publicKey }
        try await owner.putTopic(next.signed(by: topic.keys.topicKey!))
        try await owner.publish(try topic.event("after", by: alice, sequence: 2))
        #expect(await collect(stream, count: 1, seconds: 0.5).isEmpty)
        owner.close(); reader.close()
        await broker.stop()
    }

    @Test func descriptorsNeedHigherRevisions() async throws {
        let broker = try await BrokerFixture()
        let client = try await broker.connect(alice)
        let topic = try await TestTopic(on: client, owner: alice)
        try await client.putTopic(topic.descriptor)  // the same descriptor again is fine
        var changed = topic.descriptor.descriptor
        changed.name = "renamed"
        await #expect(throws: ClientError.self) { try await client.putTopic(changed.signed(by: topic.keys.topicKey!)) }
        changed.revision = 2
        try await client.putTopic(changed.signed(by: topic.keys.topicKey!))
        #expect(try await client.getTopic(topic.id).descriptor.descriptor.name == "renamed")
        client.close()
        await broker.stop()
    }

    @Test func forgedDescriptorClosesOnlyThatConnection() async throws {
        let broker = try await BrokerFixture()
        let forger = try await broker.connect(carol)
        let bystander = try await broker.connect(bob)
        let topicKey = SigningKeyPair()
        let (real, _) = try NewTopic.make(name: "x", owner: carol, openPublishing: false, publishers: [], readers: [])
        // Re-sign the body with a key that is not the topic key.
        let forged = try SignedTopicDescriptor.decode(real.body + topicKey.signature(for: real.body))
        await #expect(throws: ClientError.self) { try await forger.putTopic(forged) }
        await #expect(throws: ClientError.self) { try await forger.ping() }
        try await bystander.ping()
        forger.close(); bystander.close()
        await broker.stop()
    }

    @Test func sequenceNumbersMoveForwardAndRetriesAreAcknowledged() async throws {
        let broker = try await BrokerFixture()
        let client = try await broker.connect(alice)
        let topic = try await TestTopic(on: client, owner: alice)
        let first = try topic.event("one", by: alice, sequence: 1)
        try await client.publish(first)
        try await client.publish(first)  // an exact retry is acknowledged again
        let conflicting = try topic.event("other one", by: alice, sequence: 1)
        await #expect(throws: ClientError.self) { try await client.publish(conflicting) }
        let head = try await client.getTopic(topic.id).head
        #expect(head == PublisherHead(sequence: 1, eventID: first.id))
        client.close()
        await broker.stop()
    }

    @Test func stalledSubscriberFallsBackToItsPositionWithoutStoppingOthers() async throws {
        let broker = try await BrokerFixture { $0.deliveryBuffer = 256 << 10 }
        let publisher = try await broker.connect(alice)
        let topic = try await TestTopic(on: publisher, owner: alice, readers: [bob, carol])
        // Bob subscribes over a socket that is not read while the events are published.
        let stalled = try RawConnection(address: broker.address, receiveBuffer: 4096)
        try stalled.handshake(as: bob)
        try stalled.send(.subscribe(request: 1, topic: topic.id, start: .live, durableName: ""))
        #expect(try stalled.receive() == .subscribed(request: 1, resumed: false, position: 1))
        let fast = try await broker.connect(carol)
        let stream = try await fast.subscribe(topic.id)
        let payload = String(repeating: "x", count: 30_000)
        var published: [SignedEvent] = []
        for batch in 0..<30 {
            let events = try (1...10).map { try topic.event(payload, by: alice, sequence: UInt64(batch * 10 + $0)) }
            try await publisher.publish(events)
            published += events
        }
        #expect(await collect(stream, count: 300).count == 300)
        let statistics = await broker.statistics()
        #expect(statistics.subscribersFellBehind >= 1)
        #expect(statistics.slowConsumersDisconnected == 0)
        // Once Bob reads again he gets every event, in order, from the store.
        for (index, event) in published.enumerated() {
            guard case let .deliver(position, delivered) = try stalled.receive() else { Issue.record("expected a delivery"); return }
            #expect(position == UInt64(index + 1))
            #expect(delivered.id == event.id)
        }
        publisher.close(); fast.close()
        await broker.stop()
    }
}
