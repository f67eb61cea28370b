import EventLoop
import Logging
import Overlay
import Platform
import Sodium
import Store
import Wire

/// The broker core: accepts edge clients, authenticates them, checks and stores events, and
/// delivers them to subscribers, live or from the store. Everything here runs on one event loop
/// thread; signature checks run on a `WorkerPool` (the last of each loop turn on the loop itself;
/// all of them there when the broker may use one CPU only) and store commits on the store's writer
/// thread, and both come back through `EventLoop.execute`.
public final class Broker {
    public let identity: SigningKeyPair
    /// What the broker runs with; `reconfigure` changes the parts that may change at run time.
    public private(set) var configuration: BrokerConfiguration
    let loop: EventLoop
    let logger: Logger
    /// Threads that check signatures beside the loop; nil when the loop checks them all.
    let verifiers: WorkerPool?
    let store: BrokerStore
    let noiseStaticKey = KeyAgreementKeyPair()
    let identityProof: IdentityProof
    private(set) var listener: Listener?
    var sessions: [UInt64: EdgeSession] = [:]
    let topics: TopicTable
    var durableSessions: DurableSessions
    /// Store operations awaiting their commit, by ticket.
    var pendingWrites: [UInt64: PendingWrite] = [:]
    /// This turn's store operations, not yet handed to the store (`submit`).
    private var queuedStoreOperations: [StoreOperation] = []
    private var nextNumber: UInt64 = 0
    private(set) var shuttingDown = false
    private var shutdownTimer: Timer?
    private var maintenanceTimer: Timer?
    /// Connections still in their handshake, and the one timer that ends those that take too long.
    private var handshakeDeadlines = HandshakeDeadlines()
    private lazy var handshakeTimer = Timer(loop: loop) { [unowned self] in handshakeTimeUp() }
    private var connectionOptions: Connection.Options
    /// Traffic of client connections and of peer links, for metrics.
    let clientTraffic = TrafficTally()
    let peerTraffic = TrafficTally()
    var httpServer: HTTPServer?
    /// Where the observability endpoints are served, once started.
    public private(set) var httpAddress: SocketAddress?
    /// When the broker started (monotonic nanoseconds), for uptime.
    let startedAt = Environment.monotonicNanoseconds()

    // Overlay (Broker+Overlay, Broker+PeerLinks).
    var overlay: OverlayNode
    var peerListener: Listener?
    var peerLinks: [UInt64: PeerLink] = [:]
    let peerConnectionOptions: Connection.Options
    var advertisedAddress = ""
    /// Released events handed to the store and not yet committed.
    var uncommitted: [EventID: SignedEvent] = [:]
    /// Whether the store's last attempt to add data failed: events then reach live subscribers
    /// only once committed, so that subscribers are not reset for each refused publish.
    var storeRefusesData = false
    /// Local publishes the overlay holds for their dependencies, by event ID.
    var localPublishes: [EventID: (session: UInt64, request: UInt32)] = [:]
    /// The local publish the overlay released at once, as it usually does, on its way to the
    /// store within this call of `accept` (it never enters `localPublishes`).
    var releasedLocalPublish: (event: SignedEvent, session: UInt64, request: UInt32)?
    /// Signature checks asked for in this loop turn (Broker+Publishing, `verify`).
    var verificationsThisTurn: [PendingVerification] = []
    /// The signature last verified per broker profile, so that repeated gossip is checked once.
    var verifiedProfiles: [PeerID: [UInt8]] = [:]
    var overlayTimer: Timer?
    /// Where the peer listener is bound, once started.
    public private(set) var peerAddress: SocketAddress?
    var overlayPeriods: UInt64 = 0
    let rememberedPeers: [SignedBrokerProfile]
    /// The neighbours whose profiles the store last saved.
    var rememberedBrokers: Set<PeerID> = []

    /// Counters for logs, tests and metrics.
    public internal(set) var statistics = Statistics()

    public struct Statistics: Sendable {
        public var connectionsAccepted = 0
        public var eventsAccepted = 0
        public var eventsDelivered = 0
        public var eventsRejected = 0
        public var slowConsumersDisconnected = 0
        /// Times a live subscriber fell back to reading from the store.
        public var subscribersFellBehind = 0
        /// Subscriptions sent events before their commit that the store then numbered otherwise
        /// (a failed commit): durable ones closed, the others reading again from the store.
        public var subscribersSetBack = 0
        /// Events subscribers were told they missed, by reason.
        public var eventsDropped: [DropReason: UInt64] = [:]
        /// Events retention and expiry removed from the store, by reason.
        public var eventsPruned: [DropReason: UInt64] = [:]
        public var sessionsExpired = 0
        public var publishesRefusedForSpace = 0
        public var commits = 0
        public var committedOperations = 0
        /// Seconds per store commit (with fsync), and operations per commit.
        public var commitSeconds = Histogram(bounds: Histogram.secondsBounds)
        public var commitBatchSize = Histogram(bounds: Histogram.sizeBounds)
        /// Seconds per event signature check.
        public var signatureVerifySeconds = Histogram(bounds: Histogram.secondsBounds)
        /// Publishes answered with an error, by error code.
        public var publishesRefused: [ErrorCode: UInt64] = [:]
        /// Client connections the broker ended, by reason (idle, limit, slow consumer, bad input…).
        public var connectionsClosed: [String: UInt64] = [:]
        public var peerLinksEstablished = 0
        /// Events released by the overlay that came from peers.
        public var eventsFromPeers = 0
        /// Of `eventsAccepted`, those that came from peers (the rest came from local clients).
        public var eventsAcceptedFromPeers = 0
        /// Events the overlay gave up after every peer said they were pruned.
        public var eventsSkipped: UInt64 = 0
        /// Events refused because their publisher had signed another with the same sequence.
        public var equivocations = 0
        /// Chained events from peers given up because no successor vouched for them in time.
        public var chainedEventsDropped = 0
    }

    /// An event whose signature is to be checked, and what to do with the outcome on the loop.
    struct PendingVerification {
        let event: SignedEvent
        let done: (Result<Void, WireError>) -> Void
    }

    /// An operation handed to the store whose answer is still to be sent.
    enum PendingWrite {
        case publish(session: UInt64, request: UInt32, event: SignedEvent)
        /// An event the overlay released that came from a peer, or a local publish whose client
        /// left (`fromPeer` false).
        case peerEvent(SignedEvent, fromPeer: Bool)
        /// A descriptor from a client (`session`) or from a peer (nil).
        case descriptor(session: UInt64?, request: UInt32, descriptor: SignedTopicDescriptor)
        case sessionOpened(subscription: Subscription, request: UInt32, resumed: Bool)
        case sessionSaved(SessionKey)
    }

    /// Opens the store in the data directory and takes over what it holds.
    public init(identity: SigningKeyPair, configuration: BrokerConfiguration, loop: EventLoop, logger: Logger) throws(BrokerError) {
        self.identity = identity
        self.configuration = configuration
        self.loop = loop
        self.logger = logger
        let verifierThreads = Environment.usableCPUs > 1 ? configuration.verifierThreads : 0
        do { verifiers = verifierThreads > 0 ? try WorkerPool(threads: verifierThreads) : nil } catch { throw BrokerError("\(error)") }
        if verifierThreads < configuration.verifierThreads {
            logger.notice("this broker may use one CPU only: it verifies every signature on its event loop, without verifier threads")
        }
        identityProof = IdentityProof(identity: identity, noiseStaticKey: noiseStaticKey.publicKey)
        connectionOptions = Self.clientConnectionOptions(configuration)
        // Peers get a larger output allowance: a sync answer is up to 512 events.
        peerConnectionOptions = Connection.Options(maximumFrameLength: Limits.maximumFrameLength,
                                                   outputLimit: max(configuration.outputLimit, 64 << 20))
        var options = BrokerStore.Options()
        options.retention = configuration.retention
        options.maximumMapSize = configuration.storeMaximumSize
        options.initialMapSize = min(options.initialMapSize, configuration.storeMaximumSize)
        let handoff = CommitHandoff(loop: loop)
        let contents: BrokerStore.Contents
        do {
            (store, contents) = try BrokerStore.open(directory: FileSystem.join(configuration.dataDirectory, "store"), options: options) { outcome in
                handoff.deliver(outcome)
            }
        } catch {
            verifiers?.shutdown()
            throw BrokerError("cannot open the store: \(error.message)")
        }
        topics = TopicTable(contents: contents)
        durableSessions = DurableSessions(records: contents.sessions)
        let servedTopics = topics.served
        rememberedPeers = contents.peers
        let profile = BrokerProfile(broker: identity.publicKey, issued: Environment.wallClockMilliseconds(), address: "",
                                    topics: BrokerProfile.topicFilter(servedTopics.map { BloomFilter.Key($0.bytes) })).signed(by: identity)
        overlay = OverlayNode(profile: profile, topics: servedTopics, seed: Random.uint64())
        for (key, head) in contents.heads {
            overlay.restore(topic: key.topic, publisher: key.publisher, head: CausalDelivery.Head(sequence: head.sequence, id: head.eventID))
        }
        handoff.broker = self
        let events = contents.logs.values.reduce(0) { $0 + $1.count }
        logger.info("store holds \(contents.descriptors.count) topic(s), \(events) event(s), \(contents.sessions.count) durable session(s)")
    }

    private static func clientConnectionOptions(_ configuration: BrokerConfiguration) -> Connection.Options {
        Connection.Options(maximumFrameLength: configuration.maximumFrameLength, outputLimit: configuration.outputLimit,
                           writeLowWaterMark: configuration.deliveryBuffer / 4, maximumFrameRate: configuration.maximumMessageRate)
    }

    /// Takes the settings that may change at run time from `new` (limits, quotas, the bootstrap
    /// list); connection limits apply to connections accepted from now on.
    public func reconfigure(_ new: BrokerConfiguration) {
        let bootstrapChanged = new.bootstrap != configuration.bootstrap
        let handshakeTimeoutChanged = new.handshakeTimeout != configuration.handshakeTimeout
        configuration.takeReloadable(from: new)
        connectionOptions = Self.clientConnectionOptions(configuration)
        if handshakeTimeoutChanged && !handshakeDeadlines.isEmpty { handshakeTimeUp() }  // the timer waits for the old limit
        if bootstrapChanged && !shuttingDown { bootstrap() }  // join through the new addresses now
    }

    /// Binds the listener and starts maintenance; returns the address actually bound.
    @discardableResult
    public func start() throws(BrokerError) -> SocketAddress {
        let edgeAddress: SocketAddress
        do {
            let address = try SocketAddress(configuration.listen)
            let listener = try Listener(loop: loop, address: address) { [unowned self] socket, peer in
                accept(socket: socket, peer: peer)
            }
            self.listener = listener
            let timer = Timer(loop: loop, repeating: true) { [unowned self] in maintain() }
            timer.schedule(after: configuration.maintenanceInterval)
            maintenanceTimer = timer
            logger.notice("polderd \(identity.publicKey.text) listening on \(listener.localAddress)")
            edgeAddress = listener.localAddress
        } catch {
            throw BrokerError("cannot listen on \(configuration.listen): \(error.message)")
        }
        if let peerListen = configuration.peerListen {
            let bound = try startPeerListener(peerListen)
            peerAddress = bound
            advertisedAddress = configuration.peerAdvertise ?? bound.text
            logger.notice("listening for peers on \(bound), advertised as \(advertisedAddress)")
        }
        if let httpListen = configuration.httpListen {
            httpAddress = try startHTTP(httpListen)
        }
        refreshProfile()
        startOverlay()
        return edgeAddress
    }

    /// Stops accepting, saves durable session cursors, tells every client, and calls `completion`
    /// once they are gone or the grace period is over. The caller then closes the store.
    public func shutdown(completion: @escaping () -> Void) {
        guard !shuttingDown else { return }
        shuttingDown = true
        listener?.close()
        listener = nil
        maintenanceTimer?.cancel()
        handshakeTimer.cancel()
        peerListener?.close()
        peerListener = nil
        overlayTimer?.cancel()
        rememberNeighbours()
        for link in peerLinks.values {
            link.closedDeliberately = true
            link.close()
        }
        logger.info("shutting down: closing \(sessions.count) client connection(s)")
        for session in sessions.values {
            for subscription in session.subscriptions.values { detach(subscription) }
            session.close(afterSending: (.shuttingDown, "the broker is shutting down"))
        }
        saveDirtySessions()
        verifiers?.shutdown()
        let deadline = Environment.monotonicNanoseconds() + UInt64(configuration.shutdownGrace * 1e9)
        let timer = Timer(loop: loop, repeating: true) { [unowned self] in
            guard sessions.isEmpty || Environment.monotonicNanoseconds() >= deadline else { return }
            for session in sessions.values { session.connection.close() }
            sessions.removeAll()
            shutdownTimer?.cancel()
            httpServer?.close()  // open until here, so that /healthz says 503 during the grace period
            httpServer = nil
            completion()
        }
        shutdownTimer = timer
        timer.schedule(after: 0.02)
    }

    /// Waits for every store write to be committed and stops the store's writer.
    public func closeStore() {
        submitQueuedStoreOperations()
        store.close()
    }

    // MARK: Connections

    private func accept(socket: Int32, peer: SocketAddress) {
        let connection = Connection(loop: loop, socket: socket, peer: peer, options: connectionOptions)
        guard !shuttingDown, sessions.count < configuration.maximumConnections else {
            logger.warning("refusing connection from \(peer): \(shuttingDown ? "shutting down" : "connection limit of \(configuration.maximumConnections) reached")")
            statistics.connectionsClosed[shuttingDown ? "shutting_down" : "connection_limit", default: 0] += 1
            connection.close()
            return
        }
        connection.traffic = clientTraffic
        statistics.connectionsAccepted += 1
        let channel = SecureChannel(role: .responder, identity: identity, noiseStaticKey: noiseStaticKey, proof: identityProof)
        let session = EdgeSession(number: newNumber(), connection: connection, channel: channel, broker: self)
        sessions[session.number] = session
        connection.delegate = session
        startHandshakeClock(session.number)
    }

    /// Closes connection `number` if its handshake has not completed within the time limit.
    func startHandshakeClock(_ number: UInt64) {
        // Connections at the front that are past their handshake, or gone, leave now: under a long
        // limit they would otherwise wait out their time in the queue.
        handshakeDeadlines.dropFront { !isShakingHands($0) }
        if handshakeDeadlines.isEmpty { handshakeTimer.schedule(after: configuration.handshakeTimeout) }
        handshakeDeadlines.add(number, now: Environment.monotonicNanoseconds())
    }

    /// Whether connection `number` is open (not closing) and has not completed its handshake.
    private func isShakingHands(_ number: UInt64) -> Bool {
        if let session = sessions[number] { return session.identity == nil && !session.isClosing }
        if let link = peerLinks[number] { return !link.isEstablished && !link.isClosing }
        return false
    }

    /// The handshake timer fired: closes the connections whose time is up and still shake hands.
    private func handshakeTimeUp() {
        let now = Environment.monotonicNanoseconds()
        let limit = UInt64(configuration.handshakeTimeout * 1e9)
        for number in handshakeDeadlines.expired(now: now, limit: limit) where isShakingHands(number) {
            if let session = sessions[number] {
                logger.info("closing \(session.label): no handshake within \(configuration.handshakeTimeout) s")
                statistics.connectionsClosed["handshake_timeout", default: 0] += 1
                session.connection.close()
                closed(session, reason: .closedLocally)
            } else if let link = peerLinks[number] {
                logger.info("closing \(link.label): no handshake within \(configuration.handshakeTimeout) s")
                link.connection.close()
                closed(link, reason: .closedLocally)
            }
        }
        if let wait = handshakeDeadlines.untilNext(now: now, limit: limit) {
            handshakeTimer.schedule(after: Double(wait) / 1e9)
        }
    }

    func newNumber() -> UInt64 {
        nextNumber += 1
        return nextNumber
    }

    /// A subscriber that was sent all it could take can take more: those catching up get it.
    func drained(_ session: EdgeSession) {
        for subscription in session.subscriptions.values where !subscription.isLive { pump(subscription) }
    }

    /// The client does not read what it is sent: it is disconnected, not waited for.
    func overflowed(_ session: EdgeSession) {
        statistics.slowConsumersDisconnected += 1
        statistics.connectionsClosed["slow_consumer", default: 0] += 1
        logger.warning("disconnecting \(session.label): \(session.connection.queuedOutput) bytes queued and not read")
        session.close(afterSending: nil)
        session.connection.close()
        closed(session, reason: .closedLocally)
    }

    func closed(_ session: EdgeSession, reason: Connection.CloseReason) {
        guard sessions.removeValue(forKey: session.number) != nil else { return }
        for subscription in session.subscriptions.values { detach(subscription) }
        session.subscriptions.removeAll()
        logger.debug("connection \(session.label) ended: \(reason)")
    }

    /// Answers bad input with an error frame and closes only this connection.
    func refuse(_ session: EdgeSession, _ code: ErrorCode, _ text: String) {
        statistics.eventsRejected += code == .badSignature ? 1 : 0
        statistics.connectionsClosed[code.metricLabel, default: 0] += 1
        logger.info("refusing \(session.label): \(code.name): \(text)")
        session.close(afterSending: (code, text))
    }

    func receive(_ frame: [UInt8], on session: EdgeSession) {
        guard !session.isClosing else { return }
        let step: SecureChannel.Step
        do {
            step = try session.receive(frame)
        } catch {
            if session.identity == nil {
                // No channel to answer on: the handshake itself failed.
                statistics.connectionsClosed["handshake_failed", default: 0] += 1
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
            logger.debug("client \(peer.text) connected from \(session.connection.peer)")
        case .message(let plaintext):
            do {
                let encoded = try EdgeBatch.unpack(plaintext, fromBroker: false)
                if EdgeBatch.isBatch(plaintext, fromBroker: false) { session.clientSentBatch() }
                session.connection.chargeRateLimit(extraMessages: encoded.count - 1)
                for bytes in encoded {
                    let message = try EdgeMessage.decode(bytes)
                    handle(message, from: session)
                    if session.isClosing { return }
                }
            } catch {
                refuse(session, error.kind == .unsupported ? .unsupported : .malformedMessage, error.message)
            }
        }
    }

    // MARK: Requests

    private func handle(_ message: EdgeMessage, from session: EdgeSession) {
        switch message {
        case let .subscribe(request, topic, start, durableName):
            subscribe(topic, start: start, durableName: durableName, request: request, from: session)
        case let .unsubscribe(request, topic):
            if let subscription = session.subscriptions.removeValue(forKey: topic) { detach(subscription) }
            session.send(.ok(request: request))
        case let .ack(topic, position):
            acknowledge(topic, position: position, from: session)
        case let .publish(request, event):
            publish(event, request: request, from: session)
        case let .putTopic(request, descriptor):
            putTopic(descriptor, request: request, from: session)
        case let .getTopic(request, topic):
            guard let state = topics[topic] else {
                return session.send(.error(request: request, code: .unknownTopic, text: "the broker has no topic \(topic.text)"))
            }
            session.send(.topic(request: request, descriptor: state.descriptor, head: session.identity.flatMap { state.heads[$0] }))
        case let .ping(nonce):
            session.send(.pong(nonce: nonce))
        case .ok, .publishAck, .topic, .deliver, .error, .pong, .subscribed, .dropped:
            refuse(session, .unsupported, "clients do not send broker messages")
        }
    }

    private func putTopic(_ descriptor: SignedTopicDescriptor, request: UInt32, from session: EdgeSession) {
        do { try descriptor.verifySignature() } catch { return refuse(session, .badSignature, error.message) }
        if let held = topics[descriptor.descriptor.topic]?.descriptor, !descriptor.mayReplace(held) {
            return session.send(.error(request: request, code: .staleDescriptor, text: staleText(held.descriptor)))
        }
        write(.descriptor(session: session.number, request: request, descriptor: descriptor)) { .putDescriptor(descriptor, ticket: $0) }
    }

    func staleText(_ held: TopicDescriptor) -> String {
        "the broker holds revision \(held.revision) of topic \(held.topic.text); send a higher revision"
    }

    /// A new descriptor may remove readers: their subscriptions end at once.
    func dropSubscribersWhoAreNotReaders(of state: TopicState) {
        let descriptor = state.descriptor.descriptor
        for subscription in Array(state.subscriptions.values) {
            guard let identity = subscription.session.identity, descriptor.readerKey(for: identity) == nil else { continue }
            subscription.session.subscriptions.removeValue(forKey: descriptor.topic)
            detach(subscription)
            logger.info("\(subscription.session.label) is no longer a reader of \(descriptor.topic.text): subscription ended")
        }
    }

    // MARK: Store

    /// Hands one operation to the store, remembering what to do once it is committed.
    func write(_ pending: PendingWrite, _ operation: (UInt64) -> StoreOperation) {
        let ticket = newNumber()
        pendingWrites[ticket] = pending
        submit(operation(ticket))
    }

    /// Queues `operation` for the store's writer, which gets a turn's operations together once
    /// the turn's writes are out: waking the writer thread (on the same CPU when the broker is
    /// pinned to one) then cannot delay what the turn sends, and it wakes once per turn, not once
    /// per event.
    func submit(_ operation: StoreOperation) {
        queuedStoreOperations.append(operation)
        if queuedStoreOperations.count == 1 { loop.runAtEndOfTurn { [weak self] in self?.submitQueuedStoreOperations() } }
    }

    private func submitQueuedStoreOperations() {
        guard !queuedStoreOperations.isEmpty else { return }
        store.submit(queuedStoreOperations)
        queuedStoreOperations.removeAll(keepingCapacity: true)
    }

    private func maintain() {
        submit(.prune)
        expireAbandonedSessions()
        saveDirtySessions()
        closeIdleConnections()
    }

    /// Ends client connections that sent nothing (not even a ping) for the idle timeout.
    private func closeIdleConnections() {
        guard configuration.idleTimeout > 0 else { return }
        let now = Environment.monotonicNanoseconds()
        let limit = UInt64(configuration.idleTimeout * 1e9)
        for session in sessions.values where !session.isClosing && now &- session.connection.lastReceived > limit {
            logger.info("closing \(session.label): idle for \(configuration.idleTimeout) s")
            statistics.connectionsClosed["idle", default: 0] += 1
            session.close(afterSending: (.idle, "no message for \(configuration.idleTimeout) s; send a ping at least every \(configuration.idleTimeout / 2) s"))
        }
    }
}

/// Carries commit outcomes from the store's writer thread to the broker's loop. The broker is
/// set once it exists; outcomes before that cannot happen (nothing was submitted).
final class CommitHandoff: @unchecked Sendable {
    private let loop: EventLoop
    nonisolated(unsafe) weak var broker: Broker?

    init(loop: EventLoop) {
        self.loop = loop
    }

    func deliver(_ outcome: CommitOutcome) {
        loop.execute { [self] in broker?.committed(outcome) }
    }
}
