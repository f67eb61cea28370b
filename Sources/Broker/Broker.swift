import EventLoop
import Logging
import Platform
import Sodium
import Wire

/// The broker core: accepts edge clients, authenticates them, keeps topic descriptors, checks and
/// routes events. Everything here runs on one event loop thread; signature checks run on a
/// `WorkerPool` and come back through `EventLoop.execute`.
public final class Broker {
    public let identity: SigningKeyPair
    public let configuration: BrokerConfiguration
    private let loop: EventLoop
    private let logger: Logger
    private let verifiers: WorkerPool
    private let noiseStaticKey = KeyAgreementKeyPair()
    private let identityProof: IdentityProof
    private var listener: Listener?
    private var sessions: [ObjectIdentifier: EdgeSession] = [:]
    private var topics = TopicTable()
    private var shuttingDown = false
    private var shutdownTimer: Timer?
    private let connectionOptions: Connection.Options

    /// Counters for logs and tests (the operations issue exports them over HTTP).
    public private(set) var statistics = Statistics()

    public struct Statistics: Sendable {
        public var connectionsAccepted = 0
        public var eventsAccepted = 0
        public var eventsDelivered = 0
        public var eventsRejected = 0
        public var slowConsumersDisconnected = 0
    }

    public init(identity: SigningKeyPair, configuration: BrokerConfiguration, loop: EventLoop, logger: Logger) throws(BrokerError) {
        self.identity = identity
        self.configuration = configuration
        self.loop = loop
        self.logger = logger
        do { verifiers = try WorkerPool(threads: configuration.verifierThreads) } catch { throw BrokerError(error.message) }
        identityProof = IdentityProof(identity: identity, noiseStaticKey: noiseStaticKey.publicKey)
        connectionOptions = Connection.Options(maximumFrameLength: Limits.maximumFrameLength, outputLimit: configuration.outputLimit)
    }

    /// Binds the listener; returns the address actually bound.
    @discardableResult
    public func start() throws(BrokerError) -> SocketAddress {
        do {
            let address = try SocketAddress(configuration.listen)
            let listener = try Listener(loop: loop, address: address) { [unowned self] socket, peer in
                accept(socket: socket, peer: peer)
            }
            self.listener = listener
            logger.notice("polderd \(identity.publicKey.text) listening on \(listener.localAddress)")
            return listener.localAddress
        } catch {
            throw BrokerError("cannot listen on \(configuration.listen): \(error.message)")
        }
    }

    /// Stops accepting, tells every client, and calls `completion` once they are gone or the grace
    /// period is over.
    public func shutdown(completion: @escaping () -> Void) {
        guard !shuttingDown else { return }
        shuttingDown = true
        listener?.close()
        listener = nil
        logger.info("shutting down: closing \(sessions.count) client connection(s)")
        for session in sessions.values {
            session.close(afterSending: (.shuttingDown, "the broker is shutting down"))
        }
        verifiers.shutdown()
        let deadline = Environment.monotonicNanoseconds() + UInt64(configuration.shutdownGrace * 1e9)
        let timer = Timer(loop: loop, repeating: true) { [unowned self] in
            guard sessions.isEmpty || Environment.monotonicNanoseconds() >= deadline else { return }
            for session in sessions.values { session.connection.close() }
            sessions.removeAll()
            shutdownTimer?.cancel()
            completion()
        }
        shutdownTimer = timer
        timer.schedule(after: 0.02)
    }

    // MARK: Connections

    private func accept(socket: Int32, peer: SocketAddress) {
        let connection = Connection(loop: loop, socket: socket, peer: peer, options: connectionOptions)
        guard !shuttingDown, sessions.count < configuration.maximumConnections else {
            logger.warning("refusing connection from \(peer): \(shuttingDown ? "shutting down" : "connection limit reached")")
            connection.close()
            return
        }
        statistics.connectionsAccepted += 1
        let channel = SecureChannel(role: .responder, identity: identity, noiseStaticKey: noiseStaticKey, proof: identityProof)
        let session = EdgeSession(connection: connection, channel: channel)
        sessions[session.id] = session
        connection.onFrame = { [unowned self, unowned session] frame in receive(frame, on: session) }
        connection.onClose = { [unowned self, unowned session] reason in closed(session, reason: reason) }
        connection.onOutputOverflow = { [unowned self, unowned session] in
            statistics.slowConsumersDisconnected += 1
            logger.warning("disconnecting slow consumer \(session.label): \(session.connection.queuedOutput) bytes queued")
            session.close(afterSending: nil)
            session.connection.close()
            closed(session, reason: .closedLocally)
        }
        connection.onFrameTooLarge = { [unowned self, unowned session] length in
            refuse(session, .frameTooLarge, "frame of \(length) bytes exceeds the limit of \(Limits.maximumFrameLength)")
        }
        let timer = Timer(loop: loop) { [unowned self, unowned session] in
            if session.identity == nil {
                logger.info("closing \(session.label): no handshake within \(configuration.handshakeTimeout) s")
                session.connection.close()
                closed(session, reason: .closedLocally)
            }
        }
        timer.schedule(after: configuration.handshakeTimeout)
        session.handshakeTimer = timer
    }

    private func closed(_ session: EdgeSession, reason: Connection.CloseReason) {
        guard sessions.removeValue(forKey: session.id) != nil else { return }
        session.handshakeTimer?.cancel()
        for topic in session.subscriptions { topics.removeSubscriber(session.id, from: topic) }
        logger.debug("connection \(session.label) ended: \(reason)")
    }

    /// Answers bad input with an error frame and closes only this connection.
    private func refuse(_ session: EdgeSession, _ code: ErrorCode, _ text: String) {
        statistics.eventsRejected += code == .badSignature ? 1 : 0
        logger.info("refusing \(session.label): \(code.name): \(text)")
        session.close(afterSending: (code, text))
    }

    private func receive(_ frame: [UInt8], on session: EdgeSession) {
        guard !session.isClosing else { return }
        let step: SecureChannel.Step
        do {
            step = try session.receive(frame)
        } catch {
            if session.identity == nil {
                // No channel to answer on: the handshake itself failed.
                logger.info("handshake with \(session.label) failed: \(error.message)")
                session.connection.close()
                closed(session, reason: .error(error.message))
            } else {
                refuse(session, .malformedMessage, error.message)
            }
            return
        }
        switch step {
        case .send:
            return
        case .established(let peer, _):
            session.handshakeTimer?.cancel()
            session.handshakeTimer = nil
            logger.debug("client \(peer.text) connected from \(session.connection.peer)")
        case .message(let plaintext):
            let message: EdgeMessage
            do { message = try EdgeMessage.decode(plaintext) } catch {
                refuse(session, error.kind == .unsupported ? .unsupported : .malformedMessage, error.message)
                return
            }
            handle(message, from: session)
        }
    }

    // MARK: Requests

    private func handle(_ message: EdgeMessage, from session: EdgeSession) {
        switch message {
        case let .subscribe(request, topic):
            guard let state = topics[topic] else {
                return session.send(.error(request: request, code: .unknownTopic, text: "the broker has no topic \(topic.text)"))
            }
            guard let client = session.identity, state.descriptor.descriptor.readerKey(for: client) != nil else {
                return session.send(.error(request: request, code: .notAReader, text: "you are not a reader of topic \(topic.text)"))
            }
            state.subscribers.insert(session.id)
            session.subscriptions.insert(topic)
            session.send(.ok(request: request))
        case let .unsubscribe(request, topic):
            topics.removeSubscriber(session.id, from: topic)
            session.subscriptions.remove(topic)
            session.send(.ok(request: request))
        case let .publish(request, event):
            publish(event, request: request, from: session)
        case let .putTopic(request, descriptor):
            do {
                try topics.put(descriptor)
                dropSubscribersWhoAreNotReaders(of: descriptor.descriptor)
                logger.info("topic \(descriptor.descriptor.topic.text) '\(descriptor.descriptor.name)' revision \(descriptor.descriptor.revision) stored")
                session.send(.ok(request: request))
            } catch {
                switch error {
                case .badSignature(let text): refuse(session, .badSignature, text)
                case .stale(let text): session.send(.error(request: request, code: .staleDescriptor, text: text))
                }
            }
        case let .getTopic(request, topic):
            guard let state = topics[topic] else {
                return session.send(.error(request: request, code: .unknownTopic, text: "the broker has no topic \(topic.text)"))
            }
            session.send(.topic(request: request, descriptor: state.descriptor, head: session.identity.flatMap { state.heads[$0] }))
        case let .ping(nonce):
            session.send(.pong(nonce: nonce))
        case .ok, .publishAck, .topic, .deliver, .error, .pong:
            refuse(session, .unsupported, "clients do not send broker messages")
        }
    }

    /// A new descriptor may remove readers: they stop receiving at once.
    private func dropSubscribersWhoAreNotReaders(of descriptor: TopicDescriptor) {
        guard let state = topics[descriptor.topic] else { return }
        for id in state.subscribers {
            guard let session = sessions[id], let identity = session.identity, descriptor.readerKey(for: identity) == nil else { continue }
            topics.removeSubscriber(id, from: descriptor.topic)
            session.subscriptions.remove(descriptor.topic)
            logger.info("\(session.label) is no longer a reader of \(descriptor.topic.text): subscription ended")
        }
    }

    private func publish(_ event: SignedEvent, request: UInt32, from session: EdgeSession) {
        if let problem = admissionProblem(event.event) {
            return session.send(.error(request: request, code: problem.code, text: problem.text))
        }
        let ticket = session.enqueuePublish(request: request, event: event)
        let bound = LoopBound((broker: self, session: session), loop: loop)
        verifiers.submit { [loop] in
            let verification: EdgeSession.Verification
            do throws(WireError) {
                try event.verifySignature()
                verification = .valid
            } catch {
                verification = .invalid(error.message)
            }
            loop.execute {
                let (broker, session) = bound.value
                broker.verified(ticket: ticket, verification, on: session)
            }
        }
    }

    private func admissionProblem(_ event: Event) -> (code: ErrorCode, text: String)? {
        guard let state = topics[event.topic] else {
            return (.unknownTopic, "the broker has no topic \(event.topic.text)")
        }
        guard state.descriptor.descriptor.allowsPublisher(event.publisher) else {
            return (.notAllowedToPublish, "\(event.publisher.text) may not publish on topic \(event.topic.text)")
        }
        if event.expiry != 0 && event.expiry <= Environment.wallClockMilliseconds() {
            return (.expired, "the event expired before it reached the broker")
        }
        return nil
    }

    private func verified(ticket: UInt64, _ verification: EdgeSession.Verification, on session: EdgeSession) {
        guard sessions[session.id] != nil, !session.isClosing,
              let index = session.pendingPublishes.firstIndex(where: { $0.ticket == ticket }) else { return }
        session.pendingPublishes[index].verification = verification
        // Accept in arrival order: only the completed prefix of the queue.
        while let first = session.pendingPublishes.first {
            switch first.verification {
            case .pending:
                return
            case .invalid(let text):
                session.pendingPublishes.removeAll()
                return refuse(session, .badSignature, text)
            case .valid:
                session.pendingPublishes.removeFirst()
                accept(first.event, request: first.request, from: session)
            }
        }
    }

    private func accept(_ signed: SignedEvent, request: UInt32, from session: EdgeSession) {
        let event = signed.event
        // The descriptor may have changed while the signature was checked.
        if let problem = admissionProblem(event) {
            return session.send(.error(request: request, code: problem.code, text: problem.text))
        }
        let state = topics[event.topic]!
        if let head = state.heads[event.publisher], event.sequence <= head.sequence {
            if head.eventID == signed.id {
                return session.send(.publishAck(request: request, eventID: signed.id))  // a retry of the last event
            }
            return session.send(.error(request: request, code: .sequenceConflict,
                                       text: "sequence \(event.sequence) is not after the publisher's last, \(head.sequence)"))
        }
        state.heads[event.publisher] = PublisherHead(sequence: event.sequence, eventID: signed.id)
        statistics.eventsAccepted += 1
        let delivery = EdgeMessage.deliver(event: signed).encoded()
        for subscriber in state.subscribers {
            guard let target = sessions[subscriber] else { continue }
            target.send(encoded: delivery)
            statistics.eventsDelivered += 1
        }
        session.send(.publishAck(request: request, eventID: signed.id))
    }
}
