import Broker
import PolderClient
import Sodium
import Testing
import TestSupport
import Wire

/// Chained publishing (protocol/README.md, §6.4 and §9.1): one signature check per chain, chains
/// stored and delivered whole, and every way a chain can be wrong refused without storing a part.
@Suite(.timeLimit(.minutes(1))) struct EventChainTests {
    let alice = SigningKeyPair(), bob = SigningKeyPair()

    /// A broker, a topic of Alice's that Bob reads, their clients and Bob's subscription.
    func setUp() async throws -> (BrokerFixture, TestTopic, publisher: PolderClient, subscriber: PolderClient, Subscription) {
        let broker = try await BrokerFixture()
        let publisher = try await broker.connect(alice)
        let subscriber = try await broker.connect(bob)
        let topic = try await TestTopic(on: publisher, owner: alice, readers: [bob])
        return (broker, topic, publisher, subscriber, try await subscriber.subscribe(topic.id))
    }

    func messages(_ count: Int) -> [[UInt8]] { (1...count).map { Array("message \($0)".utf8) } }

    @Test func aChainIsCheckedOncePerSignatureAndDeliveredWhole() async throws {
        let (broker, topic, publisher, subscriber, stream) = try await setUp()
        let chain = try topic.access(alice).makeChain(messages(520), firstSequence: 1, after: nil, time: 1)
        #expect(chain.indices.filter { !chain[$0].isChained } == [256, 513, 519])
        let acknowledged = try await publisher.publish(chain)
        #expect(acknowledged == chain.map(\.id))
        let received = await collect(stream, count: 520)
        #expect(received.map(\.id) == chain.map(\.id))
        #expect(try topic.access(bob).decrypt(received[300]) == Array("message 301".utf8))
        let statistics = await broker.statistics()
        #expect(statistics.eventsAccepted == 520)
        #expect(statistics.signatureVerifySeconds.count == 3)
        // A later chain follows on from the last event.
        let next = try topic.access(alice).makeChain(messages(3), firstSequence: 521, after: chain.last!.id, time: 2)
        try await publisher.publish(next)
        #expect(await collect(stream, count: 3).map(\.id) == next.map(\.id))
        publisher.close(); subscriber.close()
        await broker.stop()
    }

    /// Publishes `events` on a fresh connection of Alice's and expects the broker to close it;
    /// checks that nothing reached the subscriber and that others are still served.
    func expectRefused(_ events: [SignedEvent], broker: BrokerFixture, stream: Subscription, bystander: PolderClient) async throws {
        let client = try await broker.connect(alice)
        await #expect(throws: ClientError.self) { try await client.publish(events) }
        await #expect(throws: ClientError.self) { try await client.ping() }
        #expect(await collect(stream, count: 1, seconds: 0.3).isEmpty)
        try await bystander.ping()
        client.close()
    }

    @Test func aChainThatDoesNotFollowOnClosesOnlyThatConnection() async throws {
        let (broker, topic, publisher, subscriber, stream) = try await setUp()
        let chain = try topic.access(alice).makeChain(messages(3), firstSequence: 1, after: nil, time: 1)
        let stranger = try topic.event("not the successor", by: alice, sequence: 7)
        try await expectRefused([chain[0], stranger], broker: broker, stream: stream, bystander: subscriber)
        #expect(await broker.statistics().connectionsClosed[ErrorCode.badSignature.metricLabel] == 1)
        #expect(await broker.statistics().eventsAccepted == 0)
        publisher.close(); subscriber.close()
        await broker.stop()
    }

    @Test func aChainWithAForgedEndIsRefusedWhole() async throws {
        let (broker, topic, publisher, subscriber, stream) = try await setUp()
        let chain = try topic.access(alice).makeChain(messages(3), firstSequence: 1, after: nil, time: 1)
        var encoded = chain[2].encoded
        encoded[encoded.count - 1] ^= 1
        try await expectRefused([chain[0], chain[1], try SignedEvent.decode(encoded)], broker: broker, stream: stream, bystander: subscriber)
        #expect(await broker.statistics().eventsAccepted == 0)
        publisher.close(); subscriber.close()
        await broker.stop()
    }

    @Test func aChainLongerThanTheLimitIsRefused() async throws {
        let (broker, topic, publisher, subscriber, stream) = try await setUp()
        let signed = try topic.access(alice).makeChain(messages(Limits.maximumChainLength + 2), firstSequence: 1, after: nil, time: 1)
        // Leave the one that had to be signed unsigned too: one chained event more than the limit in a row.
        let tooLong = signed.dropLast().map { $0.event.chained() } + [signed.last!]
        try await expectRefused(tooLong, broker: broker, stream: stream, bystander: subscriber)
        #expect(await broker.statistics().eventsAccepted == 0)
        publisher.close(); subscriber.close()
        await broker.stop()
    }

    @Test func aChainOfMoreBytesThanTheLimitIsRefused() async throws {
        let (broker, topic, publisher, subscriber, stream) = try await setUp()
        let large = (1...14).map { [UInt8](repeating: UInt8($0), count: 20_000) }
        let signed = try topic.access(alice).makeChain(large, firstSequence: 1, after: nil, time: 1)
        // makeChain signs the event that would take the run past the byte limit, well before the count limit.
        let signedAt = try #require(signed.firstIndex { !$0.isChained })
        #expect(signedAt < signed.count - 1)
        #expect(signed[..<signedAt].reduce(0) { $0 + $1.encoded.count } <= Limits.maximumChainBytes)
        #expect(signed[...signedAt].reduce(0) { $0 + $1.encoded.count } > Limits.maximumChainBytes)
        let tooLarge = signed.dropLast().map { $0.event.chained() } + [signed.last!]
        try await expectRefused(tooLarge, broker: broker, stream: stream, bystander: subscriber)
        #expect(await broker.statistics().eventsAccepted == 0)
        // Signed where makeChain signed them, the same events go through.
        #expect(try await publisher.publish(signed) == signed.map(\.id))
        #expect(await broker.statistics().eventsAccepted == 14)
        publisher.close(); subscriber.close()
        await broker.stop()
    }

    /// Six events from `first` (the first following `previous`), each listing the one before; the
    /// five chained ones total `maximumChainBytes + extra` encoded bytes, the sixth is signed.
    func runAtTheByteLimit(_ topic: TestTopic, from first: UInt64, after previous: EventID?, extra: Int) throws -> [SignedEvent] {
        let dependencyBytes = previous == nil ? 0 : 32
        let overhead = try topic.event("", by: alice, sequence: first).encoded.count  // no dependency, empty text
        let each = Limits.maximumChainBytes / 5
        var lengths = [Int](repeating: each - overhead - 32, count: 5)
        lengths[0] = Limits.maximumChainBytes - 4 * each + extra - overhead - dependencyBytes
        lengths.append(10)
        var run: [SignedEvent] = []
        for (index, length) in lengths.enumerated() {
            let dependencies = run.last.map { [$0.id] } ?? previous.map { [$0] } ?? []
            let event = try topic.event(String(repeating: "a", count: length), by: alice, sequence: first + UInt64(index),
                                        dependencies: dependencies)
            run.append(index < 5 ? event.event.chained() : event)
        }
        #expect(run.prefix(5).reduce(0) { $0 + $1.encoded.count } == Limits.maximumChainBytes + extra)
        return run
    }

    @Test func aChainOfExactlyTheByteLimitIsTakenAndOneByteMoreIsRefused() async throws {
        let (broker, topic, publisher, subscriber, stream) = try await setUp()
        let atLimit = try runAtTheByteLimit(topic, from: 1, after: nil, extra: 0)
        #expect(try await publisher.publish(atLimit) == atLimit.map(\.id))
        #expect(await collect(stream, count: 6).map(\.id) == atLimit.map(\.id))
        let over = try runAtTheByteLimit(topic, from: 7, after: atLimit.last!.id, extra: 1)
        try await expectRefused(over, broker: broker, stream: stream, bystander: subscriber)
        #expect(await broker.statistics().eventsAccepted == 6)
        publisher.close(); subscriber.close()
        await broker.stop()
    }

    @Test func aChainCutShortByADisconnectIsNotStored() async throws {
        let (broker, topic, publisher, subscriber, stream) = try await setUp()
        let chain = try topic.access(alice).makeChain(messages(3), firstSequence: 1, after: nil, time: 1)
        let leaving = try await broker.connect(alice)
        let attempt = Task { try await leaving.publish(Array(chain.prefix(2))) }
        try await Task.sleep(for: .milliseconds(200))
        leaving.close()
        _ = await attempt.result
        try await Task.sleep(for: .milliseconds(200))
        #expect(await broker.statistics().eventsAccepted == 0)  // (collecting with a timeout would end the stream)
        // The whole chain, sent again, goes through.
        try await publisher.publish(chain)
        #expect(await collect(stream, count: 3).map(\.id) == chain.map(\.id))
        publisher.close(); subscriber.close()
        await broker.stop()
    }

    @Test func aChainWithAMemberAdmissionRefusesIsRefusedWhole() async throws {
        let (broker, topic, publisher, subscriber, stream) = try await setUp()
        var events = (1...3).map { sequence in
            Event(topic: topic.id, publisher: alice.publicKey, sequence: UInt64(sequence), time: 1, epoch: 1, payload: [UInt8(sequence)])
        }
        events[2].expiry = 1  // long expired: admission refuses the signed end
        for index in 1..<3 { events[index].dependencies = [events[index - 1].id] }
        let chain = try SignedEvent.chain(events, signedBy: alice)
        try await expectRefused(chain, broker: broker, stream: stream, bystander: subscriber)
        #expect(await broker.statistics().eventsAccepted == 0)
        publisher.close(); subscriber.close()
        await broker.stop()
    }

    @Test func aSmallPublishLimitStillReadsAChainToItsEnd() async throws {
        let broker = try await BrokerFixture { $0.maximumPendingPublishes = 8 }
        let publisher = try await broker.connect(alice)
        let subscriber = try await broker.connect(bob)
        let topic = try await TestTopic(on: publisher, owner: alice, readers: [bob])
        let stream = try await subscriber.subscribe(topic.id)
        let chain = try topic.access(alice).makeChain(messages(300), firstSequence: 1, after: nil, time: 1)
        try await publisher.publish(chain)
        #expect(await collect(stream, count: 300).map(\.id) == chain.map(\.id))
        publisher.close(); subscriber.close()
        await broker.stop()
    }
}
