/// Encoded edge messages waiting to be sealed, so that what one loop turn sends a connection goes
/// out in as few transport messages as fit (`EdgeBatch`). The owner queues with `append` and, when
/// that reports the first message, schedules one `seal` for the end of the turn.
///
/// Batches are opt-in (protocol/README.md, §4.16): a client's outbox sends its first message as a
/// batch, which tells the broker that the client reads batches; a broker's outbox sends batches
/// only once `peerSentBatch()` was called.
public struct EdgeOutbox {
    private var messages: [[UInt8]] = []
    /// Bytes queued, so that flow control can count them before they reach the socket.
    public private(set) var byteCount = 0
    private let fromBroker: Bool
    private var batching: Bool
    private var announced: Bool

    private init(fromBroker: Bool, batching: Bool) {
        self.fromBroker = fromBroker
        self.batching = batching
        announced = fromBroker
    }

    /// A client's outbox: batches fit the lowest frame limit a broker may have.
    public static func client() -> EdgeOutbox {
        EdgeOutbox(fromBroker: false, batching: true)
    }

    /// A broker's outbox: single messages until the client has shown it reads batches.
    public static func broker() -> EdgeOutbox {
        EdgeOutbox(fromBroker: true, batching: false)
    }

    /// The longest batch: a broker's batches may use its whole message limit; a client's fit the
    /// lowest frame limit a broker may have. Derived, not stored (there is one per connection).
    private var maximumBatchLength: Int { fromBroker ? Limits.maximumMessageLength : EdgeBatch.clientMaximumLength }

    /// The peer sent a batch, so it reads them too.
    public mutating func peerSentBatch() {
        batching = true
    }

    public var isEmpty: Bool { messages.isEmpty }

    /// Queues `message`; returns true when the outbox was empty (the caller schedules a flush).
    public mutating func append(_ message: [UInt8]) -> Bool {
        messages.append(message)
        byteCount += message.count
        return messages.count == 1
    }

    /// Seals everything queued, in order, into frame bodies, and empties the outbox. On failure
    /// (an over-long message, or the channel's nonces used up) it returns the frames sealed before
    /// it with the error; the channel is then not to be used again.
    public mutating func seal(with channel: inout SecureChannel) -> (frames: [[UInt8]], error: WireError?) {
        defer {
            messages.removeAll(keepingCapacity: true)
            byteCount = 0
        }
        let plaintexts = batching
            ? EdgeBatch.pack(messages, fromBroker: fromBroker, maximumLength: maximumBatchLength, minimumCount: announced ? 2 : 1)
            : messages
        if plaintexts.contains(where: { EdgeBatch.isBatch($0, fromBroker: fromBroker) }) { announced = true }
        var frames: [[UInt8]] = []
        for plaintext in plaintexts {
            do { frames.append(try channel.seal(plaintext)) } catch { return (frames, error) }
        }
        return (frames, nil)
    }
}
