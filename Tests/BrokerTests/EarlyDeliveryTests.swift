import Broker
import PolderClient
import Sodium
import Testing
import TestSupport
import Wire

/// Live subscribers receive an event when it is handed to the store, before its commit (protocol
/// §9.3). These tests cover what happens when that commit then fails.
@Suite(.timeLimit(.minutes(1))) struct EarlyDeliveryTests {
    let alice = SigningKeyPair(), bob = SigningKeyPair()

    @Test func aFailedCommitSetsBackOnlyTheSubscribersThatGotTheEventEarly() async throws {
        let broker = try await BrokerFixture { $0.storeMaximumSize = 2 << 20 }
        let publisher = try await broker.connect(alice)
        let topic = try await TestTopic(on: publisher, owner: alice, readers: [bob])
        let durableReader = try await broker.connect(bob)
        let durable = try await durableReader.subscribe(topic.id, durableName: "inbox")
        let plainReader = try await broker.connect(bob)
        let plain = try await plainReader.subscribe(topic.id)

        // One at a time until the store is full: the refused event reached both subscribers first.
        let big = String(repeating: "z", count: 30_000)
        var stored: [SignedEvent] = []
        var refusal: ClientError?
        var refused: SignedEvent?
        for sequence in UInt64(1)...200 {
            let event = try topic.event("\(sequence) \(big)", by: alice, sequence: sequence)
            do { try await publisher.publish(event); stored.append(event) } catch {
                (refusal, refused) = (error, event)
                break
            }
        }
        #expect(refusal?.kind == .refused(.storageFull))
        #expect(stored.count > 10)
        let refusedEvent = try #require(refused)
        // While the store refuses data, events wait for their commits: retries set nobody back again,
        // and each is refused for space (not taken for a duplicate of the event that failed).
        for _ in 1...3 {
            await #expect(throws: ClientError(.refused(.storageFull), "the broker's store is full; publishing is refused until space is freed")) {
                try await publisher.publish(refusedEvent)
            }
        }
        #expect(await broker.statistics().subscribersSetBack == 2)

        // The plain subscriber keeps its connection and gets every stored event once, in order.
        let plainEvents = await collect(plain, count: stored.count + 1, seconds: 3)
        let plainOnce = plainEvents.reduce(into: [SignedEvent]()) { kept, event in
            if !kept.contains(where: { $0.id == event.id }) { kept.append(event) }
        }
        #expect(Array(plainOnce.prefix(stored.count)).map(\.id) == stored.map(\.id))
        try await plainReader.ping()

        // The durable one was closed with the reason; its acknowledgement of the refused event's
        // position does not count, so resuming yields nothing it has not been able to store.
        let durableEvents = await collect(durable, count: stored.count + 1, seconds: 3)
        #expect(durableEvents.prefix(stored.count).map(\.id) == stored.map(\.id))
        durableReader.acknowledge(topic.id, through: UInt64(stored.count + 1))
        do {
            try await durableReader.ping()
            Issue.record("the durable subscriber's connection should be closed")
        } catch {
            #expect(error.message.contains("failed to store"), "\(error.message)")
        }
        let resumedReader = try await broker.connect(bob)
        let resumed = try await resumedReader.subscribe(topic.id, durableName: "inbox")
        #expect(resumed.resumed && resumed.position <= UInt64(stored.count + 1))
        publisher.close(); plainReader.close(); durableReader.close(); resumedReader.close()
        await broker.stop()
    }

    @Test func aSubscriberCatchingUpReadsWhatIsOnItsWayToTheStore() async throws {
        let broker = try await BrokerFixture()
        let publisher = try await broker.connect(alice)
        let topic = try await TestTopic(on: publisher, owner: alice, readers: [bob])
        let events = try (UInt64(1)...2_000).map { try topic.event("e\($0)", by: alice, sequence: $0) }
        let reader = try await broker.connect(bob)
        // Subscribing from the beginning while the publishes stream in: the reader crosses from
        // the store to the uncommitted events and then to live delivery without a gap.
        async let published = publisher.publish(events)
        try await Task.sleep(for: .milliseconds(20))
        let subscription = try await reader.subscribe(topic.id, from: .beginning)
        let received = await collectMessages(subscription, events: events.count, seconds: 20)
        _ = try await published
        var positions: [UInt64] = []
        var ids: [EventID] = []
        for message in received {
            guard case let .event(event, position) = message else { Issue.record("unexpected \(message)"); continue }
            positions.append(position)
            ids.append(event.id)
        }
        // Compared as flags, so that a failure prints where, not two thousand IDs.
        let firstMisplaced = ids.indices.first { $0 >= events.count || ids[$0] != events[$0].id }
        let firstMisnumbered = positions.indices.first { positions[$0] != UInt64($0 + 1) }
        #expect(ids.count == events.count, "\(ids.count) of \(events.count) events")
        #expect(firstMisplaced == nil, "event \(firstMisplaced ?? 0) is out of place")
        #expect(firstMisnumbered == nil, "delivery \(firstMisnumbered ?? 0) has position \(positions[firstMisnumbered ?? 0])")
        publisher.close(); reader.close()
        await broker.stop()
    }
}
