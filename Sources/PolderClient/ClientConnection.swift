import EventLoop
import Overlay
import Platform
import Sodium
import Wire

/// The loop-owned half of a client: the socket, the secure channel, requests awaiting answers
/// and live subscriptions. `PolderClient` reaches it only through its event loop.
final class ClientConnection {
    typealias Reply = Result<EdgeMessage, ClientError>

    private let loop: EventLoop
    private var connection: Connection?
    private var channel: SecureChannel
    /// Messages sent during this loop turn, sealed together at its end.
    private var outbox = EdgeOutbox.client()
    private var nextRequest: UInt32 = 1
    private var pending: [UInt32: (Reply) -> Void] = [:]
    private var subscriptions: [TopicID: SubscriptionState] = [:]

    /// What the connection keeps per subscription: deliveries waiting to be authentic (chained
    /// events wait for their successor), IDs already handed out, and the causal order check.
    private struct SubscriptionState {
        let continuation: AsyncStream<SubscriptionMessage>.Continuation
        var authentication = AuthenticationQueue<CausalOrder.Positioned>(voucherCapacity: 0)
        var filter = SeenCache<EventID>(capacity: 65_536)
        var order = CausalOrder()
    }
    /// Acknowledgements not yet sent, by topic; sent together shortly after the first.
    private var pendingAcks: [TopicID: UInt64] = [:]
    private var ackTimer: Timer?
    private var closeContinuation: CheckedContinuation<Void, Never>?
    private var connectContinuation: CheckedContinuation<Result<SigningPublicKey, ClientError>, Never>?
    private var connectTimer: Timer?
    private var closedError: ClientError?
    /// Pings a broker that has heard nothing from us for `keepAliveAfter`, so that its idle
    /// timeout (default 300 s, at least 60 s when configured) does not end a quiet subscriber.
    private var keepAliveTimer: Timer?
    private var lastSent = Environment.monotonicNanoseconds()
    private static let keepAliveAfter: UInt64 = 30_000_000_000

    init(loop: EventLoop, identity: SigningKeyPair) {
        self.loop = loop
        channel = SecureChannel(role: .initiator, identity: identity)
    }

    /// Connects to `address`; `name` is how the user gave it (a host name, say), for errors.
    func connect(to address: SocketAddress, named name: String, timeout: Double,
                 continuation: CheckedContinuation<Result<SigningPublicKey, ClientError>, Never>) {
        connectContinuation = continuation
        let options = Connection.Options(maximumFrameLength: Limits.maximumFrameLength, outputLimit: 64 << 20)
        let timer = Timer(loop: loop) { [unowned self] in
            fail(ClientError(.timeout, "no answer from the broker at \(name) within \(timeout) s"))
        }
        timer.schedule(after: timeout)
        connectTimer = timer
        let connection = Connection(loop: loop, connectingTo: address, options: options) { [unowned self] error in
            if let error {
                fail(ClientError(.unreachable, "cannot reach the broker at \(name): \(error.message)"))
                return
            }
            do throws(WireError) {
                self.connection?.send(frame: try channel.start())
            } catch {
                fail(ClientError(.handshakeFailed, "handshake with \(name) failed: \(error.message)"))
            }
        }
        connection.delegate = self
        self.connection = connection
    }

    private func receive(_ frame: [UInt8]) {
        let step: SecureChannel.Step
        do { step = try channel.receive(frame) } catch {
            let kind: ClientError.Kind = channel.isEstablished ? .protocolViolation : .handshakeFailed
            return fail(ClientError(kind, "secure channel with the broker failed: \(error.message)"))
        }
        switch step {
        case .send(let frames):
            connection?.send(frames: frames)
        case let .established(peer, frames):
            connection?.send(frames: frames)
            connectTimer?.cancel()
            connectTimer = nil
            startKeepAlive()
            connectContinuation?.resume(returning: .success(peer))
            connectContinuation = nil
        case .message(let plaintext):
            do {
                for bytes in try EdgeBatch.unpack(plaintext, fromBroker: true) {
                    dispatch(try EdgeMessage.decode(bytes))
                    if closedError != nil { return }
                }
            } catch {
                fail(ClientError(.protocolViolation, "the broker sent a malformed message: \(error.message)"))
            }
        }
    }

    private func dispatch(_ message: EdgeMessage) {
        switch message {
        case .ok(let request), .publishAck(let request, _), .topic(let request, _, _), .subscribed(let request, _, _):
            pending.removeValue(forKey: request)?(.success(message))
        case let .error(request, code, text):
            if request == 0 {
                return fail(ClientError(.refused(code), "the broker closed the connection: \(text)"))
            }
            pending.removeValue(forKey: request)?(.failure(ClientError(.refused(code), text)))
        case let .deliver(position, event):
            let topic = event.event.topic
            guard subscriptions[topic] != nil else { return }
            let delivery = CausalOrder.Positioned(event: event, position: position)
            if let ticket = subscriptions[topic]!.authentication.append(delivery, event: event) {
                subscriptions[topic]!.authentication.checked(ticket, Result { () throws(WireError) in try event.verifySignature() })
            }
            handOutAuthentic(topic)
        case let .dropped(topic, reason, count):
            guard subscriptions[topic] != nil else { return }
            subscriptions[topic]!.continuation.yield(.dropped(reason, count: count))
            for ready in subscriptions[topic]!.order.letGo() {
                subscriptions[topic]!.continuation.yield(.event(ready.event, position: ready.position))
            }
        case .pong(let nonce):
            pending.removeValue(forKey: UInt32(truncatingIfNeeded: nonce))?(.success(message))
        case .subscribe, .unsubscribe, .publish, .putTopic, .getTopic, .ping, .ack:
            fail(ClientError(.protocolViolation, "the broker sent a client request"))
        }
    }

    /// Hands the application the authentic prefix of a subscription's deliveries, in order; never a
    /// forged event, nor a chained one no successor vouched for (given up after `CausalOrder`'s
    /// bound of deliveries behind it).
    private func handOutAuthentic(_ topic: TopicID) {
        while subscriptions[topic] != nil {
            switch subscriptions[topic]!.authentication.front {
            case .empty:
                return
            case .waiting:
                let bound = subscriptions[topic]!.order.maximumHeld
                if subscriptions[topic]!.authentication.dropUnvouchedFront(whenMoreThan: bound) == nil { return }
            case .forged:
                subscriptions[topic]!.authentication.removeFront()
            case .ready(let delivery):
                subscriptions[topic]!.authentication.removeFront()
                guard subscriptions[topic]!.filter.insert(delivery.event.id) else {
                    acknowledge(topic, through: delivery.position)  // a duplicate: already handed out
                    continue
                }
                for ready in subscriptions[topic]!.order.take(delivery.event, position: delivery.position) {
                    subscriptions[topic]!.continuation.yield(.event(ready.event, position: ready.position))
                }
            }
        }
    }

    /// Sends a request built from a fresh request number and calls `reply` with the answer.
    func request(_ build: (UInt32) -> EdgeMessage, reply: @escaping (Reply) -> Void) {
        if let closedError { return reply(.failure(closedError)) }
        let number = nextRequest
        nextRequest = nextRequest == UInt32.max ? 1 : nextRequest + 1
        pending[number] = reply
        send(build(number))
    }

    func addSubscription(_ topic: TopicID, _ continuation: AsyncStream<SubscriptionMessage>.Continuation) {
        if closedError != nil { return continuation.finish() }
        subscriptions[topic]?.continuation.finish()
        subscriptions[topic] = SubscriptionState(continuation: continuation)
    }

    func removeSubscription(_ topic: TopicID) {
        subscriptions.removeValue(forKey: topic)?.continuation.finish()
    }

    /// Records that everything up to `position` on `topic` is processed; acknowledgements made
    /// within a few milliseconds go out as one message per topic.
    func acknowledge(_ topic: TopicID, through position: UInt64) {
        guard closedError == nil, position > pendingAcks[topic] ?? 0 else { return }
        pendingAcks[topic] = position
        guard ackTimer == nil else { return }
        let timer = Timer(loop: loop) { [unowned self] in
            ackTimer = nil
            flushAcknowledgements()
        }
        timer.schedule(after: 0.005)
        ackTimer = timer
    }

    private func flushAcknowledgements() {
        for (topic, position) in pendingAcks { send(.ack(topic: topic, position: position)) }
        pendingAcks.removeAll()
    }

    /// Sends what is queued (acknowledgements included), closes, and resumes `continuation` once
    /// the connection is gone.
    func finish(_ continuation: CheckedContinuation<Void, Never>) {
        guard closedError == nil, let connection else { return continuation.resume() }
        ackTimer?.cancel()
        ackTimer = nil
        closeContinuation = continuation  // before flushing: a failure there resumes it
        flushAcknowledgements()
        flush()
        connection.closeAfterFlush()
    }

    private func startKeepAlive() {
        let timer = Timer(loop: loop, repeating: true) { [unowned self] in
            if Environment.monotonicNanoseconds() - lastSent >= Self.keepAliveAfter { send(.ping(nonce: 0)) }  // request numbers start at 1
        }
        timer.schedule(after: 10)  // so a ping goes out 30 to 40 s after the last message
        keepAliveTimer = timer
    }

    /// Queues a message; what a loop turn queues is sealed and sent at its end.
    private func send(_ message: EdgeMessage) {
        guard connection != nil else { return }
        lastSent = Environment.monotonicNanoseconds()
        if outbox.append(message.encoded()) { loop.runAfterCurrentCallbacks { [self] in flush() } }
    }

    /// Seals what is queued, in as few frames as fit, and hands it to the connection.
    private func flush() {
        guard !outbox.isEmpty, let connection else { return }
        let (frames, error) = outbox.seal(with: &channel)
        connection.send(frames: frames)
        if let error { fail(ClientError(.protocolViolation, "cannot send: \(error.message)")) }
    }

    /// Ends the connection and everything waiting on it with `error`.
    func fail(_ error: ClientError) {
        guard closedError == nil else { return }
        closedError = error
        connectTimer?.cancel()
        connectTimer = nil
        ackTimer?.cancel()
        ackTimer = nil
        keepAliveTimer?.cancel()
        keepAliveTimer = nil
        connection?.close()
        connection = nil
        connectContinuation?.resume(returning: .failure(error))
        connectContinuation = nil
        for reply in pending.values { reply(.failure(error)) }
        pending.removeAll()
        for subscription in subscriptions.values { subscription.continuation.finish() }
        subscriptions.removeAll()
        closeContinuation?.resume()
        closeContinuation = nil
    }
}

extension ClientConnection: ConnectionDelegate {
    func connection(_ connection: Connection, received frame: [UInt8]) {
        receive(frame)
    }

    func connection(_ connection: Connection, closedBecause reason: Connection.CloseReason) {
        fail(ClientError(.connectionLost, "the connection to the broker ended: \(reason)"))
    }
}
