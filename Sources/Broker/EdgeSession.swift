import EventLoop
import Logging
import Sodium
import Wire

/// One edge client's connection: its secure channel, its subscriptions, and its publishes in
/// flight (`EdgePublishes`).
final class EdgeSession {
    /// Unique for the broker's lifetime (never reused, unlike object addresses).
    let number: UInt64
    let connection: Connection
    /// Handles what the connection reports (the session is its delegate).
    private unowned let broker: Broker
    private var channel: SecureChannel
    /// Messages sent during this loop turn, sealed together at its end.
    private var outbox = EdgeOutbox.broker()
    private(set) var identity: SigningPublicKey?
    /// Beside `identity`, in its padding (10,000 idle sessions pay for every padding byte).
    private(set) var isClosing = false
    var subscriptions: [TopicID: Subscription] = [:]
    /// Made on the first publish (`makePublishes`).
    private(set) var publishes: EdgePublishes?

    /// The session's publish state, made on its first publish.
    func makePublishes() -> EdgePublishes {
        if let publishes { return publishes }
        let made = EdgePublishes()
        publishes = made
        return made
    }

    init(number: UInt64, connection: Connection, channel: SecureChannel, broker: Broker) {
        self.number = number
        self.connection = connection
        self.channel = channel
        self.broker = broker
    }

    /// Publishes this connection has in flight; reading pauses when there are too many.
    var publishesInFlight: Int { publishes?.inFlight ?? 0 }

    /// A name for log lines.
    var label: String { identity.map { "\($0.text.prefix(12))@\(connection.peer)" } ?? "\(connection.peer)" }

    /// Feeds one frame through the secure channel.
    func receive(_ frame: [UInt8]) throws(WireError) -> SecureChannel.Step {
        let step = try channel.receive(frame)
        if case let .established(peer, frames) = step {
            identity = peer
            connection.send(frames: frames)
        } else if case let .send(frames) = step {
            connection.send(frames: frames)
        }
        return step
    }

    /// Bytes on their way to the client: sealed and buffered, or queued to be sealed.
    var queuedOutput: Int { connection.queuedOutput + outbox.byteCount }

    /// Queues one message; what a loop turn queues is sealed and sent at its end.
    func send(_ message: EdgeMessage) {
        send(encoded: message.encoded())
    }

    /// Queues one already encoded message (shared by many sessions).
    func send(encoded: [UInt8]) {
        guard channel.isEstablished, connection.isOpen else { return }
        if outbox.append(encoded) { connection.loop.runAfterCurrentCallbacks { [self] in flush() } }
    }

    /// The client sent a batch: it reads them, so its messages go out batched from now on.
    func clientSentBatch() {
        outbox.peerSentBatch()
    }

    /// Seals what is queued, in as few frames as fit, and hands it to the connection.
    func flush() {
        guard !outbox.isEmpty, connection.isOpen else { return }
        let (frames, error) = outbox.seal(with: &channel)
        connection.send(frames: frames)
        // Only nonce exhaustion or an over-long message get here; the connection cannot go on.
        if error != nil { close(afterSending: nil) }
    }

    /// Sends a connection-level error (if the channel is up) and closes once it is flushed.
    func close(afterSending error: (code: ErrorCode, text: String)?) {
        guard !isClosing else { return }
        isClosing = true
        if let error { send(.error(request: 0, code: error.code, text: error.text)) }
        flush()
        connection.closeAfterFlush()
    }
}

extension EdgeSession: ConnectionDelegate {
    func connection(_ connection: Connection, received frame: [UInt8]) {
        broker.receive(frame, on: self)
    }

    func connection(_ connection: Connection, closedBecause reason: Connection.CloseReason) {
        broker.closed(self, reason: reason)
    }

    func connectionDrained(_ connection: Connection) {
        broker.drained(self)
    }

    func connectionOverflowed(_ connection: Connection) {
        broker.overflowed(self)
    }

    func connection(_ connection: Connection, refusedFrameOf length: Int) {
        broker.refuse(self, .frameTooLarge, "frame of \(length) bytes exceeds the limit of \(connection.maximumFrameLength)")
    }
}
