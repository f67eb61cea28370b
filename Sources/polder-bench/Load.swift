import ArgumentParser
import Platform
import PolderClient
import Sodium
import Wire

/// A publisher and a subscriber on one topic of a running broker, and the runs made with them.
final class Load {
    let address: String
    let options: PolderClient.Options
    let publisherIdentity = SigningKeyPair(), subscriberIdentity = SigningKeyPair()
    let publisher: PolderClient
    let subscriber: PolderClient
    let access: TopicAccess
    let topic: TopicID
    let plaintext: [UInt8]
    private var sequence: UInt64 = 0

    init(address: String, payload: Int, options: PolderClient.Options) async throws {
        self.address = address
        self.options = options
        publisher = try await PolderClient.connect(to: address, identity: publisherIdentity, options: options)
        subscriber = try await PolderClient.connect(to: address, identity: subscriberIdentity, options: options)
        let (descriptor, keys) = try NewTopic.make(name: "bench", owner: publisherIdentity, openPublishing: false, publishers: [],
                                                   readers: [subscriberIdentity.publicKey])
        try await publisher.putTopic(descriptor)
        access = TopicAccess(descriptor: descriptor.descriptor, identity: publisherIdentity, keys: keys)
        topic = descriptor.descriptor.topic
        plaintext = [UInt8](repeating: 0x61, count: payload)
    }

    func close() {
        publisher.close()
        subscriber.close()
    }

    func makeEvents(_ count: Int) throws -> [SignedEvent] {
        try (0..<count).map { _ in
            sequence += 1
            return try access.makeEvent(plaintext, sequence: sequence, dependencies: [], time: 0)
        }
    }

    /// Publishes `events` in pipelined batches of `window`.
    func publish(_ events: [SignedEvent], window: Int) async throws {
        var start = 0
        while start < events.count {
            let end = min(events.count, start + window)
            try await publisher.publish(Array(events[start..<end]))
            start = end
        }
    }

    /// Publish-to-delivery times in µs, one event at a time, sorted.
    func latencies(count: Int) async throws -> [Double] {
        let subscription = try await subscriber.subscribe(topic)
        let publisher = self.publisher
        var iterator = subscription.makeAsyncIterator()
        var latencies: [Double] = []
        for event in try makeEvents(count) {
            let start = Environment.monotonicNanoseconds()
            async let acknowledged: [EventID] = publisher.publish([event])
            guard case .event(let delivered, _)? = await iterator.next(), delivered.id == event.id else { throw ValidationError("delivery lost") }
            latencies.append(Double(Environment.monotonicNanoseconds() - start) / 1000)
            _ = try await acknowledged
        }
        try await subscriber.unsubscribe(topic)
        return latencies.sorted()
    }

    /// Events per second from the first publish to the last delivery.
    func throughput(count: Int, window: Int) async throws -> Double {
        let events = try makeEvents(count)
        let subscription = try await subscriber.subscribe(topic)
        let start = Environment.monotonicNanoseconds()
        let consumer = Task {
            var received = 0
            for await message in subscription {
                if case .event = message { received += 1 }
                if received == count { break }
            }
            return (received, Environment.monotonicNanoseconds())
        }
        try await publish(events, window: window)
        let (received, end) = await consumer.value
        try await subscriber.unsubscribe(topic)
        guard received == count else { throw ValidationError("only \(received) of \(count) events were delivered") }
        return Double(count) / (Double(end - start) / 1e9)
    }

    /// Acknowledged publishes per second with no subscriber: every acknowledgement follows an fsync.
    func acknowledgedRate(count: Int, window: Int) async throws -> Double {
        let events = try makeEvents(count)
        let start = Environment.monotonicNanoseconds()
        try await publish(events, window: window)
        return Double(count) / (Double(Environment.monotonicNanoseconds() - start) / 1e9)
    }

    /// Queues `count` events for a durable subscriber that is away, samples the broker's memory,
    /// then measures the replay when it comes back.
    func offlineQueue(count: Int, window: Int, resident: () -> (total: Int, anonymous: Int)) async throws -> (rate: Double, resident: (total: Int, anonymous: Int)) {
        let away = try await PolderClient.connect(to: address, identity: subscriberIdentity, options: options)
        _ = try await away.subscribe(topic, durableName: "bench")
        await away.shutdown()
        try await publish(try makeEvents(count), window: window)
        let queued = resident()

        let back = try await PolderClient.connect(to: address, identity: subscriberIdentity, options: options)
        defer { back.close() }
        let start = Environment.monotonicNanoseconds()
        let subscription = try await back.subscribe(topic, durableName: "bench")
        var received = 0
        for await message in subscription {
            guard case .event(_, let position) = message else { continue }
            received += 1
            if received % 1000 == 0 || received == count { back.acknowledge(topic, through: position) }
            if received == count { break }
        }
        guard received == count else { throw ValidationError("only \(received) of \(count) queued events were replayed") }
        return (Double(count) / (Double(Environment.monotonicNanoseconds() - start) / 1e9), queued)
    }
}
