import EventLoop
import Overlay
import Sodium
import Wire

/// One link to another broker: a secure channel over TCP, the messages waiting for its handshake,
/// and received messages kept in arrival order while their events' signatures are checked, so
/// that the overlay sees each link's messages in the order they were sent.
final class PeerLink {
    enum Direction: String {
        case inbound, outbound
    }

    /// Unique for the broker's lifetime.
    let number: UInt64
    let connection: Connection
    /// Handles what the connection reports (the link is its delegate).
    private unowned let broker: Broker
    let direction: Direction
    /// The broker an outbound link was opened to, when known (nil for bootstrap addresses).
    let expected: PeerID?
    /// The address an outbound link was opened to, as given (a bootstrap entry may name a host).
    let dialed: String?
    private var channel: SecureChannel
    private(set) var identity: PeerID?
    /// Encoded messages queued before the handshake completed.
    private var outbox: [[UInt8]] = []
    /// Received messages in arrival order, each waiting until the event it carries is authentic.
    /// Brokers forward events as they release them, so a chain can be interleaved with other
    /// messages or overtaken by its successor: vouchers are kept.
    var received = AuthenticationQueue<PeerMessage>(voucherCapacity: 4096)
    /// Messages that may wait behind a chained event before it is given up (§14.1).
    static let maximumWaitingBehindChain = 1024
    /// Monotonic milliseconds of the last message either way, to close links nobody uses.
    var lastUsed: UInt64
    private(set) var isClosing = false
    /// Set when the broker closes the link on purpose: its end does not make the peer unreachable.
    var closedDeliberately = false

    init(number: UInt64, connection: Connection, channel: SecureChannel, direction: Direction, expected: PeerID?, dialed: String?,
         now: UInt64, broker: Broker) {
        self.number = number
        self.connection = connection
        self.channel = channel
        self.direction = direction
        self.expected = expected
        self.dialed = dialed
        self.broker = broker
        lastUsed = now
    }

    var isEstablished: Bool { identity != nil && channel.isEstablished }

    /// A name for log lines.
    var label: String { "peer \(identity.map { String($0.text.prefix(12)) } ?? "?")@\(address) (\(direction.rawValue))" }

    /// The peer's address as the operator gave it when dialed, else as connected.
    var address: String { dialed ?? connection.peer.text }

    /// Sends the initiator's first handshake frame.
    func startHandshake() throws(WireError) {
        connection.send(frame: try channel.start())
    }

    /// Feeds one frame through the secure channel; sends what the handshake needs and, once it is
    /// established, what was queued.
    func receive(_ frame: [UInt8]) throws(WireError) -> SecureChannel.Step {
        let step = try channel.receive(frame)
        switch step {
        case let .established(peer, frames):
            identity = peer
            connection.send(frames: frames)
        case let .send(frames):
            connection.send(frames: frames)
        case .message:
            break
        }
        return step
    }

    /// Sends the queued messages, after the handshake (and after `hello`, which goes first).
    func flushOutbox() {
        let queued = outbox
        outbox.removeAll()
        for message in queued { send(encoded: message) }
    }

    func send(_ message: PeerMessage, now: UInt64) {
        lastUsed = now
        send(encoded: message.encoded())
    }

    private func send(encoded: [UInt8]) {
        guard !isClosing, connection.isOpen else { return }
        guard channel.isEstablished, identity != nil else {
            outbox.append(encoded)
            return
        }
        do {
            connection.send(frame: try channel.seal(encoded))
        } catch {
            close()
        }
    }

    /// Closes once what is queued is sent.
    func close() {
        guard !isClosing else { return }
        isClosing = true
        connection.closeAfterFlush()
    }
}

extension PeerLink: ConnectionDelegate {
    func connection(_ connection: Connection, received frame: [UInt8]) {
        broker.receive(frame, on: self)
    }

    func connection(_ connection: Connection, closedBecause reason: Connection.CloseReason) {
        broker.closed(self, reason: reason)
    }

    func connectionOverflowed(_ connection: Connection) {
        broker.abandon(self, because: "\(connection.queuedOutput) bytes queued and not read")
    }

    func connection(_ connection: Connection, refusedFrameOf length: Int) {
        broker.abandon(self, because: "frame of \(length) bytes exceeds the limit of \(connection.maximumFrameLength)")
    }
}
