/// Encoded edge messages waiting to be sealed, so that what one loop turn sends a connection goes
/// out in as few transport messages as fit (`EdgeBatch`). The owner queues with `append` and, when
/// that reports the first message, schedules one `seal` for the end of the turn.
public struct EdgeOutbox {
    private var messages: [[UInt8]] = []
    private let fromBroker: Bool
    /// Bytes queued, so that flow control can count them before they reach the socket.
    public private(set) var byteCount = 0

    public init(fromBroker: Bool) {
        self.fromBroker = fromBroker
    }

    public var isEmpty: Bool { messages.isEmpty }

    /// Queues `message`; returns true when the outbox was empty (the caller schedules a flush).
    public mutating func append(_ message: [UInt8]) -> Bool {
        messages.append(message)
        byteCount += message.count
        return messages.count == 1
    }

    /// Seals everything queued, in order, into frame bodies. The outbox is empty afterwards, also
    /// when sealing fails (the channel is then unusable).
    public mutating func seal(with channel: inout SecureChannel) throws(WireError) -> [[UInt8]] {
        defer {
            messages.removeAll(keepingCapacity: true)
            byteCount = 0
        }
        var frames: [[UInt8]] = []
        for plaintext in EdgeBatch.pack(messages, fromBroker: fromBroker) { frames.append(try channel.seal(plaintext)) }
        return frames
    }
}
