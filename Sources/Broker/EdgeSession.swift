import EventLoop
import Logging
import Sodium
import Wire

/// One edge client's connection: its secure channel, its subscriptions, and the publishes whose
/// signatures are being checked, kept in arrival order so that acceptance follows publish order.
final class EdgeSession {
    enum Verification {
        case pending
        case valid
        case invalid(String)
    }

    struct PendingPublish {
        /// Unique within the session, so that a repeated request number cannot be confused.
        let ticket: UInt64
        let request: UInt32
        let event: SignedEvent
        var verification: Verification = .pending
    }

    /// Unique for the broker's lifetime (never reused, unlike object addresses).
    let number: UInt64
    let connection: Connection
    private var channel: SecureChannel
    private(set) var identity: SigningPublicKey?
    var subscriptions: [TopicID: Subscription] = [:]
    /// Publishes whose signatures are being checked, in arrival order.
    var pendingPublishes: [PendingPublish] = []
    /// Publishes accepted for storing and not yet answered.
    var storingPublishes = 0
    private var nextTicket: UInt64 = 0

    /// Queues a publish for signature checking; returns its ticket.
    func enqueuePublish(request: UInt32, event: SignedEvent) -> UInt64 {
        nextTicket += 1
        pendingPublishes.append(PendingPublish(ticket: nextTicket, request: request, event: event))
        return nextTicket
    }
    var handshakeTimer: Timer?
    private(set) var isClosing = false

    init(number: UInt64, connection: Connection, channel: SecureChannel) {
        self.number = number
        self.connection = connection
        self.channel = channel
    }

    /// Publishes this connection has in flight; reading pauses when there are too many.
    var publishesInFlight: Int { pendingPublishes.count + storingPublishes }

    /// A name for log lines.
    var label: String { identity.map { "\($0.text.prefix(12))@\(connection.peer)" } ?? "\(connection.peer)" }

    /// Feeds one frame through the secure channel.
    func receive(_ frame: [UInt8]) throws(WireError) -> SecureChannel.Step {
        let step = try channel.receive(frame)
        if case let .established(peer, frames) = step {
            identity = peer
            for frame in frames { connection.send(frame: frame) }
        } else if case let .send(frames) = step {
            for frame in frames { connection.send(frame: frame) }
        }
        return step
    }

    /// Encrypts and queues one message.
    func send(_ message: EdgeMessage) {
        send(encoded: message.encoded())
    }

    /// Encrypts and queues one already encoded message (shared by many sessions).
    func send(encoded: [UInt8]) {
        guard channel.isEstablished, connection.isOpen else { return }
        do {
            connection.send(frame: try channel.seal(encoded))
        } catch {
            // Only nonce exhaustion or an over-long message get here; the connection cannot go on.
            close(afterSending: nil)
        }
    }

    /// Sends a connection-level error (if the channel is up) and closes once it is flushed.
    func close(afterSending error: (code: ErrorCode, text: String)?) {
        guard !isClosing else { return }
        isClosing = true
        handshakeTimer?.cancel()
        if let error { send(.error(request: 0, code: error.code, text: error.text)) }
        connection.closeAfterFlush()
    }
}
