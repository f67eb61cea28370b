import Broker
import EventLoop
import Logging
import Platform
import PolderClient
import Sodium
import Wire

/// A broker running in this process on an ephemeral loopback port.
public final class BrokerFixture: @unchecked Sendable {
    public let loop: EventLoop
    public let address: String
    public let dataDirectory: String
    /// The peer listener's address, when configured with `peerListen`.
    public let peerAddress: String?
    private var broker: Broker?

    public init(configure: (inout BrokerConfiguration) -> Void = { _ in }) async throws {
        var configuration = BrokerConfiguration()
        configuration.listen = "127.0.0.1:0"
        configuration.dataDirectory = "/tmp/polder-broker-tests-\(Random.uint64())"
        configure(&configuration)
        let settings = configuration
        dataDirectory = configuration.dataDirectory
        let loop = try EventLoop.startThread()
        self.loop = loop
        let identity = SigningKeyPair()
        let started: Result<(Broker, String, String?), BrokerError> = await withCheckedContinuation { continuation in
            loop.execute {
                do throws(BrokerError) {
                    var logger = Logger(label: "test-broker")
                    logger.logLevel = .warning
                    let broker = try Broker(identity: identity, configuration: settings, loop: loop, logger: logger)
                    let bound = try broker.start()
                    continuation.resume(returning: .success((broker, "127.0.0.1:\(bound.port)", broker.peerAddress?.text)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        let (broker, address, peerAddress) = try started.get()
        self.broker = broker
        self.address = address
        self.peerAddress = peerAddress
    }

    /// Counters, read on the loop.
    public func statistics() async -> Broker.Statistics {
        await withCheckedContinuation { continuation in
            loop.execute { [self] in continuation.resume(returning: broker!.statistics) }
        }
    }

    /// Applies a reload (what SIGHUP does for polderd), on the loop.
    public func reconfigure(_ change: @escaping @Sendable (inout BrokerConfiguration) -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute { [self] in
                var configuration = broker!.configuration
                change(&configuration)
                broker!.reconfigure(configuration)
                continuation.resume()
            }
        }
    }

    public func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute { [self] in
                broker!.shutdown { [self] in
                    broker!.closeStore()
                    broker = nil
                    FileSystem.removeTree(dataDirectory)
                    loop.stop()
                    continuation.resume()
                }
            }
        }
    }

    public func connect(_ identity: SigningKeyPair) async throws -> PolderClient {
        try await PolderClient.connect(to: address, identity: identity)
    }
}

/// A topic created by `owner` with extra readers and publishers, already put on the broker.
public struct TestTopic {
    public let descriptor: SignedTopicDescriptor
    public let keys: TopicKeys
    public var id: TopicID { descriptor.descriptor.topic }

    public init(on client: PolderClient, owner: SigningKeyPair, readers: [SigningKeyPair] = [], publishers: [SigningKeyPair] = [],
         open: Bool = false) async throws {
        (descriptor, keys) = try NewTopic.make(name: "test", owner: owner, openPublishing: open, publishers: publishers.map(\.publicKey),
                                               readers: readers.map(\.publicKey))
        try await client.putTopic(descriptor)
    }

    public func access(_ identity: SigningKeyPair) -> TopicAccess {
        TopicAccess(descriptor: descriptor.descriptor, identity: identity, keys: identity.publicKey == descriptor.descriptor.owners[0] ? keys : TopicKeys(topic: id))
    }

    public func event(_ text: String, by identity: SigningKeyPair, sequence: UInt64, dependencies: [EventID] = []) throws -> SignedEvent {
        try access(identity).makeEvent(Array(text.utf8), sequence: sequence, dependencies: dependencies, time: 1)
    }
}

/// Waits for the next `count` events of a subscription, or fewer if `seconds` pass.
public func collect(_ subscription: Subscription, count: Int, seconds: Double = 10) async -> [SignedEvent] {
    await collectMessages(subscription, events: count, seconds: seconds).compactMap {
        if case .event(let event, _) = $0 { event } else { nil }
    }
}

/// Every message of a subscription until `events` events came, or until `seconds` pass.
public func collectMessages(_ subscription: Subscription, events count: Int, seconds: Double = 10) async -> [SubscriptionMessage] {
    let messages = MessageBox()
    await withTaskGroup(of: Void.self) { group in
        group.addTask {
            var events = 0
            for await message in subscription {
                messages.append(message)
                if case .event = message { events += 1 }
                if events == count { break }
            }
        }
        group.addTask {
            try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
        }
        await group.next()
        group.cancelAll()
    }
    return messages.value
}

final class MessageBox: @unchecked Sendable {
    private let lock = PthreadMutex()
    private var messages: [SubscriptionMessage] = []
    func append(_ message: SubscriptionMessage) { lock.withLock { messages.append(message) } }
    var value: [SubscriptionMessage] { lock.withLock { messages } }
}
