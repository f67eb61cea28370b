import Broker
import PolderClient
import Sodium
import Testing
import TestSupport
import Wire

/// Durable sessions, acknowledgements and drop notices against an in-process broker.
@Suite(.timeLimit(.minutes(1))) struct DurableSessionTests {
    let alice = SigningKeyPair(), bob = SigningKeyPair()

    func publish(_ count: Int, on topic: TestTopic, from client: PolderClient, startingAt first: UInt64 = 1) async throws -> [SignedEvent] {
        let events = try (0..<UInt64(count)).map { try topic.event("e\(first + $0)", by: alice, sequence: first + $0) }
        try await client.publish(events)
        return events
    }

    @Test func resumesAfterTheLastAcknowledgedPosition() async throws {
        let broker = try await BrokerFixture()
        let publisher = try await broker.connect(alice)
        let topic = try await TestTopic(on: publisher, owner: alice, readers: [bob])
        var reader = try await broker.connect(bob)
        var subscription = try await reader.subscribe(topic.id, durableName: "inbox")
        #expect(!subscription.resumed && subscription.position == 1)
        let events = try await publish(5, on: topic, from: publisher)
        #expect(await collect(subscription, count: 5).map(\.id) == events.map(\.id))
        reader.acknowledge(topic.id, through: 3)
        await reader.shutdown()

        reader = try await broker.connect(bob)
        subscription = try await reader.subscribe(topic.id, from: .beginning, durableName: "inbox")
        #expect(subscription.resumed && subscription.position == 4)
        #expect(await collect(subscription, count: 2).map(\.id) == events[3...].map(\.id))
        // Only one connection at a time.
        let second = try await broker.connect(bob)
        await #expect(throws: ClientError(.refused(.sessionInUse), "durable session 'inbox' is in use by another connection")) {
            _ = try await second.subscribe(topic.id, durableName: "inbox")
        }
        reader.close(); second.close(); publisher.close()
        await broker.stop()
    }

    @Test func quotaDropsAreAnnouncedAndCounted() async throws {
        let broker = try await BrokerFixture { $0.sessionQuota = 5 }
        let publisher = try await broker.connect(alice)
        let topic = try await TestTopic(on: publisher, owner: alice, readers: [bob])
        var reader = try await broker.connect(bob)
        _ = try await reader.subscribe(topic.id, durableName: "inbox")
        await reader.shutdown()
        let events = try await publish(12, on: topic, from: publisher)
        reader = try await broker.connect(bob)
        let messages = await collectMessages(try await reader.subscribe(topic.id, durableName: "inbox"), events: 5)
        guard case let .dropped(reason, count)? = messages.first else { Issue.record("expected a drop notice first: \(messages)"); return }
        #expect(reason == .sessionQuota && count == 7)
        #expect(messages.dropFirst().compactMap { if case let .event(event, _) = $0 { event.id } else { nil } } == events[7...].map(\.id))
        #expect(await broker.statistics().eventsDropped[.sessionQuota] == 7)
        reader.close(); publisher.close()
        await broker.stop()
    }

    @Test func abandonedSessionsExpireAndTheReturningClientIsTold() async throws {
        let broker = try await BrokerFixture { $0.sessionExpiry = 1; $0.maintenanceInterval = 0.1 }
        let publisher = try await broker.connect(alice)
        let topic = try await TestTopic(on: publisher, owner: alice, readers: [bob])
        var reader = try await broker.connect(bob)
        _ = try await reader.subscribe(topic.id, durableName: "inbox")
        await reader.shutdown()
        _ = try await publish(3, on: topic, from: publisher)
        // Expired after 1 s detached; the tombstone stays until 2 s. Polled, not slept: under a
        // loaded test run, a fixed sleep left too little of that second to come back in.
        let deadline = ContinuousClock.now + .seconds(10)
        while await broker.statistics().sessionsExpired == 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await broker.statistics().sessionsExpired == 1)
        reader = try await broker.connect(bob)
        let subscription = try await reader.subscribe(topic.id, durableName: "inbox")
        #expect(!subscription.resumed && subscription.position == 4)
        let later = try await publish(1, on: topic, from: publisher, startingAt: 4)
        let messages = await collectMessages(subscription, events: 1)
        guard case let .dropped(reason, count)? = messages.first else { Issue.record("expected a drop notice first: \(messages)"); return }
        #expect(reason == .sessionExpired && count == 3)
        guard case let .event(event, position)? = messages.last else { Issue.record("expected an event"); return }
        #expect(event.id == later[0].id && position == 4)
        #expect(await broker.statistics().eventsDropped[.sessionExpired] == 3)
        reader.close(); publisher.close()
        await broker.stop()
    }

    @Test func retentionPrunesAndCountsWhy() async throws {
        let broker = try await BrokerFixture { $0.retention = Retention(maximumEvents: 4) }
        let publisher = try await broker.connect(alice)
        let topic = try await TestTopic(on: publisher, owner: alice, readers: [bob])
        let events = try await publish(10, on: topic, from: publisher)
        #expect(await broker.statistics().eventsPruned[.retentionCount] == 6)
        let reader = try await broker.connect(bob)
        let messages = await collectMessages(try await reader.subscribe(topic.id, from: .position(1)), events: 4)
        guard case let .dropped(reason, count)? = messages.first else { Issue.record("expected a drop notice first"); return }
        #expect(reason == .retentionCount && count == 6)
        #expect(messages.dropFirst().compactMap { if case let .event(event, _) = $0 { event.id } else { nil } } == events[6...].map(\.id))
        reader.close(); publisher.close()
        await broker.stop()
    }
}
