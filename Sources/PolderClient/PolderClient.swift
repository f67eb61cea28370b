import EventLoop
import Sodium
import Wire

/// An edge client of a Polder broker: connects with the Noise handshake under its identity,
/// then manages topics, publishes and subscribes. Safe to use from any task.
public final class PolderClient: Sendable {
    public struct Options: Sendable {
        /// Seconds to wait for the connection and handshake.
        public var connectTimeout = 10.0

        public init() {}
    }

    private let loop: EventLoop
    private let connection: LoopBound<ClientConnection>
    /// The broker's identity, proven in the handshake.
    public let brokerIdentity: SigningPublicKey
    public let identity: SigningPublicKey

    private init(loop: EventLoop, connection: LoopBound<ClientConnection>, brokerIdentity: SigningPublicKey, identity: SigningPublicKey) {
        self.loop = loop
        self.connection = connection
        self.brokerIdentity = brokerIdentity
        self.identity = identity
    }

    deinit {
        close()
    }

    /// Connects to the broker at `address` (`HOST:PORT`) and authenticates both sides.
    public static func connect(to address: String, identity: SigningKeyPair, options: Options = Options()) async throws(ClientError) -> PolderClient {
        let socketAddress: SocketAddress
        do { socketAddress = try SocketAddress(address) } catch {
            throw ClientError(.unreachable, "bad broker address '\(address)': \(error.message)")
        }
        let loop: EventLoop
        do { loop = try EventLoop.startThread() } catch { throw ClientError(.unreachable, error.message) }
        let bound = LoopBound(ClientConnection(loop: loop, identity: identity), loop: loop)
        let result = await withCheckedContinuation { continuation in
            loop.execute { bound.value.connect(to: socketAddress, named: address, timeout: options.connectTimeout, continuation: continuation) }
        }
        switch result {
        case .success(let broker):
            return PolderClient(loop: loop, connection: bound, brokerIdentity: broker, identity: identity.publicKey)
        case .failure(let error):
            loop.stop()
            throw error
        }
    }

    private func request(_ build: @escaping @Sendable (UInt32) -> EdgeMessage) async throws(ClientError) -> EdgeMessage {
        let connection = self.connection
        let reply = await withCheckedContinuation { continuation in
            loop.execute { connection.value.request(build, reply: { continuation.resume(returning: $0) }) }
        }
        return try reply.get()
    }

    private var unexpected: ClientError {
        ClientError(.protocolViolation, "the broker answered with an unexpected message")
    }

    /// Stores a topic descriptor on the broker.
    public func putTopic(_ descriptor: SignedTopicDescriptor) async throws(ClientError) {
        let answer = try await request { .putTopic(request: $0, descriptor: descriptor) }
        guard case .ok = answer else { throw unexpected }
    }

    /// Fetches a topic's descriptor, and what this client last published there as the broker knows it.
    public func getTopic(_ topic: TopicID) async throws(ClientError) -> (descriptor: SignedTopicDescriptor, head: PublisherHead?) {
        let answer = try await request { .getTopic(request: $0, topic: topic) }
        guard case let .topic(_, descriptor, head) = answer else { throw unexpected }
        do { try descriptor.verifySignature() } catch {
            throw ClientError(.protocolViolation, "the broker sent a descriptor not signed by the topic key")
        }
        guard descriptor.descriptor.topic == topic else { throw ClientError(.protocolViolation, "the broker sent another topic's descriptor") }
        return (descriptor, head)
    }

    /// Publishes a signed event; returns once the broker has acknowledged it.
    @discardableResult
    public func publish(_ event: SignedEvent) async throws(ClientError) -> EventID {
        try Self.checkChainEnds([event])
        let answer = try await request { .publish(request: $0, event: event) }
        guard case let .publishAck(_, eventID) = answer, eventID == event.id else { throw unexpected }
        return eventID
    }

    /// Publishes events back to back without waiting between them (pipelined), in order; returns
    /// once the broker has acknowledged all of them, or with the first refusal.
    @discardableResult
    public func publish(_ events: [SignedEvent]) async throws(ClientError) -> [EventID] {
        guard !events.isEmpty else { return [] }
        try Self.checkChainEnds(events)
        let connection = self.connection
        // One loop hop sends every request, so they reach the broker in this order.
        let replies = await withCheckedContinuation { (done: CheckedContinuation<[ClientConnection.Reply], Never>) in
            loop.execute {
                var replies = [ClientConnection.Reply?](repeating: nil, count: events.count)
                var outstanding = events.count
                for (index, event) in events.enumerated() {
                    connection.value.request({ .publish(request: $0, event: event) }) { reply in
                        replies[index] = reply
                        outstanding -= 1
                        if outstanding == 0 { done.resume(returning: replies.map { $0! }) }
                    }
                }
            }
        }
        var ids: [EventID] = []
        for (event, reply) in zip(events, replies) {
            let answer = try reply.get()
            guard case let .publishAck(_, eventID) = answer, eventID == event.id else { throw unexpected }
            ids.append(eventID)
        }
        return ids
    }

    /// A chained event is acknowledged only with the signed event that ends its chain (§6.4): a
    /// publish that ends in one would wait for ever.
    private static func checkChainEnds(_ events: [SignedEvent]) throws(ClientError) {
        if let last = events.last, last.isChained {
            throw ClientError(.invalidArgument, "event \(last.id) is chained: publish it with its successors up to a signed event")
        }
    }

    /// Subscribes to a topic from `start`. With a `durableName` the broker keeps a session of that
    /// name for this identity: while the client is away it keeps the position, and a later
    /// subscription with the same name resumes after the last acknowledged event (then `start` is
    /// ignored). Events come in position order; duplicates (by event ID) are dropped.
    public func subscribe(_ topic: TopicID, from start: SubscriptionStart = .live, durableName: String = "") async throws(ClientError) -> Subscription {
        guard durableName.utf8.count <= Limits.maximumSessionNameLength else {
            throw ClientError(.invalidArgument, "a durable session name is at most \(Limits.maximumSessionNameLength) bytes")
        }
        let (stream, continuation) = AsyncStream<SubscriptionMessage>.makeStream()
        let connection = self.connection
        // Register first so no delivery between the broker's answer and our return is lost.
        loop.execute { connection.value.addSubscription(topic, continuation) }
        do throws(ClientError) {
            let answer = try await request { .subscribe(request: $0, topic: topic, start: start, durableName: durableName) }
            guard case let .subscribed(_, resumed, position) = answer else { throw unexpected }
            return Subscription(topic: topic, resumed: resumed, position: position, messages: stream)
        } catch {
            loop.execute { connection.value.removeSubscription(topic) }
            throw error
        }
    }

    /// Tells the broker that every event of `topic` up to `position` is processed, so a durable
    /// session resumes after it. Acknowledgements are batched for a few milliseconds.
    public func acknowledge(_ topic: TopicID, through position: UInt64) {
        let connection = self.connection
        loop.execute { connection.value.acknowledge(topic, through: position) }
    }

    /// Ends a subscription.
    public func unsubscribe(_ topic: TopicID) async throws(ClientError) {
        let answer = try await request { .unsubscribe(request: $0, topic: topic) }
        guard case .ok = answer else { throw unexpected }
        let connection = self.connection
        loop.execute { connection.value.removeSubscription(topic) }
    }

    /// A round trip to the broker.
    public func ping() async throws(ClientError) {
        let answer = try await request { .ping(nonce: UInt64($0)) }
        guard case .pong = answer else { throw unexpected }
    }

    /// Sends what is queued (acknowledgements included) and closes the connection, waiting at
    /// most `seconds` for it to drain.
    public func shutdown(seconds: Double = 2) async {
        let connection = self.connection
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [loop] in
                await withCheckedContinuation { continuation in loop.execute { connection.value.finish(continuation) } }
            }
            group.addTask { [self] in
                try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                close()  // ends the first task too
            }
            await group.next()
            group.cancelAll()
        }
        close()
    }

    /// Closes the connection at once; pending requests fail and subscriptions end.
    public func close() {
        let connection = self.connection
        let loop = self.loop
        loop.execute {
            connection.value.fail(ClientError(.connectionLost, "the client closed the connection"))
            loop.stop()
        }
    }
}
