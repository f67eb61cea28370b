import EventLoop
import Sodium
import Wire

/// The loop-owned half of a client: the socket, the secure channel, requests awaiting answers
/// and live subscriptions. `PolderClient` reaches it only through its event loop.
final class ClientConnection {
    typealias Reply = Result<EdgeMessage, ClientError>

    private let loop: EventLoop
    private var connection: Connection?
    private var channel: SecureChannel
    private var nextRequest: UInt32 = 1
    private var pending: [UInt32: (Reply) -> Void] = [:]
    private var subscriptions: [TopicID: AsyncStream<SignedEvent>.Continuation] = [:]
    private var connectContinuation: CheckedContinuation<Result<SigningPublicKey, ClientError>, Never>?
    private var connectTimer: Timer?
    private var closedError: ClientError?
    private let verifyDeliveries: Bool

    init(loop: EventLoop, identity: SigningKeyPair, verifyDeliveries: Bool) {
        self.loop = loop
        self.verifyDeliveries = verifyDeliveries
        channel = SecureChannel(role: .initiator, identity: identity)
    }

    func connect(to address: SocketAddress, timeout: Double, continuation: CheckedContinuation<Result<SigningPublicKey, ClientError>, Never>) {
        connectContinuation = continuation
        let options = Connection.Options(maximumFrameLength: Limits.maximumFrameLength, outputLimit: 64 << 20)
        let timer = Timer(loop: loop) { [unowned self] in
            fail(ClientError(.timeout, "no answer from the broker at \(address) within \(timeout) s"))
        }
        timer.schedule(after: timeout)
        connectTimer = timer
        let connection = Connection(loop: loop, connectingTo: address, options: options) { [unowned self] error in
            if let error {
                fail(ClientError(.unreachable, "cannot reach the broker at \(address): \(error.message)"))
                return
            }
            do throws(WireError) {
                self.connection?.send(frame: try channel.start())
            } catch {
                fail(ClientError(.handshakeFailed, "handshake with \(address) failed: \(error.message)"))
            }
        }
        connection.onFrame = { [unowned self] frame in receive(frame) }
        connection.onClose = { [unowned self] reason in
            fail(ClientError(.connectionLost, "the connection to the broker ended: \(reason)"))
        }
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
            for frame in frames { connection?.send(frame: frame) }
        case let .established(peer, frames):
            for frame in frames { connection?.send(frame: frame) }
            connectTimer?.cancel()
            connectTimer = nil
            connectContinuation?.resume(returning: .success(peer))
            connectContinuation = nil
        case .message(let plaintext):
            do { dispatch(try EdgeMessage.decode(plaintext)) } catch {
                fail(ClientError(.protocolViolation, "the broker sent a malformed message: \(error.message)"))
            }
        }
    }

    private func dispatch(_ message: EdgeMessage) {
        switch message {
        case .ok(let request), .publishAck(let request, _), .topic(let request, _, _):
            pending.removeValue(forKey: request)?(.success(message))
        case let .error(request, code, text):
            if request == 0 {
                return fail(ClientError(.refused(code), "the broker closed the connection: \(text)"))
            }
            pending.removeValue(forKey: request)?(.failure(ClientError(.refused(code), text)))
        case .deliver(let event):
            guard let subscription = subscriptions[event.event.topic] else { return }
            if verifyDeliveries {
                do { try event.verifySignature() } catch { return }  // never hand a forged event to the application
            }
            subscription.yield(event)
        case .pong(let nonce):
            pending.removeValue(forKey: UInt32(truncatingIfNeeded: nonce))?(.success(message))
        case .subscribe, .unsubscribe, .publish, .putTopic, .getTopic, .ping:
            fail(ClientError(.protocolViolation, "the broker sent a client request"))
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

    func addSubscription(_ topic: TopicID, _ continuation: AsyncStream<SignedEvent>.Continuation) {
        if closedError != nil { return continuation.finish() }
        subscriptions[topic]?.finish()
        subscriptions[topic] = continuation
    }

    func removeSubscription(_ topic: TopicID) {
        subscriptions.removeValue(forKey: topic)?.finish()
    }

    private func send(_ message: EdgeMessage) {
        do {
            connection?.send(frame: try channel.seal(message.encoded()))
        } catch {
            fail(ClientError(.protocolViolation, "cannot send: \(error.message)"))
        }
    }

    /// Ends the connection and everything waiting on it with `error`.
    func fail(_ error: ClientError) {
        guard closedError == nil else { return }
        closedError = error
        connectTimer?.cancel()
        connectTimer = nil
        connection?.close()
        connection = nil
        connectContinuation?.resume(returning: .failure(error))
        connectContinuation = nil
        for reply in pending.values { reply(.failure(error)) }
        pending.removeAll()
        for subscription in subscriptions.values { subscription.finish() }
        subscriptions.removeAll()
    }
}
