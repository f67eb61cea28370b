/// Several edge messages in one transport message (protocol/README.md, §4.16 `batch`). What one
/// side sends a connection in one loop turn goes out under one seal and in one frame: for small
/// messages the per-message seal, tag and frame cost more than the messages themselves.
public enum EdgeBatch {
    /// `batch` sent by a client.
    public static let clientTag: UInt8 = 0x08
    /// `batch` sent by a broker.
    public static let brokerTag: UInt8 = 0x89

    /// Tag and count.
    static let headerLength = 3
    /// Each message's length.
    static let lengthPrefixLength = 2

    /// The longest batch a client sends: it fits the lowest frame limit a broker may have.
    public static let clientMaximumLength = Limits.smallestFrameLimit - 16

    /// The transport plaintexts that carry `messages` in order: consecutive messages packed into
    /// batches of at most `maximumLength` bytes; a message that would be alone in its batch goes
    /// as itself, unless `minimumCount` is 1 (a lone message longer than `maximumLength` always
    /// goes as itself).
    public static func pack(_ messages: [[UInt8]], fromBroker: Bool, maximumLength: Int = Limits.maximumMessageLength,
                            minimumCount: Int = 2) -> [[UInt8]] {
        var plaintexts: [[UInt8]] = []
        var start = 0
        while start < messages.count {
            var end = start
            var size = headerLength
            while end < messages.count, end - start < Int(UInt16.max),
                  size + lengthPrefixLength + messages[end].count <= maximumLength {
                size += lengthPrefixLength + messages[end].count
                end += 1
            }
            guard end - start >= max(minimumCount, 1), end > start else {
                plaintexts.append(messages[start])
                start += 1
                continue
            }
            var writer = ByteWriter(capacity: size)
            writer.u8(fromBroker ? brokerTag : clientTag)
            writer.u16(UInt16(end - start))
            for message in messages[start..<end] {
                writer.u16(UInt16(message.count))
                writer.raw(message)
            }
            plaintexts.append(writer.bytes)
            start = end
        }
        return plaintexts
    }

    /// Whether `plaintext` is a batch from that side (its messages unchecked).
    public static func isBatch(_ plaintext: [UInt8], fromBroker: Bool) -> Bool {
        plaintext.first == (fromBroker ? brokerTag : clientTag)
    }

    /// The messages a received transport plaintext carries: itself, unless it is a batch. A batch
    /// in the wrong direction is `unsupported`; an empty or nested one is malformed.
    public static func unpack(_ plaintext: [UInt8], fromBroker: Bool) throws(WireError) -> [ArraySlice<UInt8>] {
        guard let tag = plaintext.first, tag == clientTag || tag == brokerTag else { return [plaintext[...]] }
        guard tag == (fromBroker ? brokerTag : clientTag) else {
            throw WireError(.unsupported, fromBroker ? "a broker sent a client's batch" : "clients do not send broker messages")
        }
        var reader = ByteReader(plaintext)
        _ = try reader.u8("batch tag")
        let count = Int(try reader.u16("batch count"))
        guard count >= 1 else { throw WireError(.invalidValue, "a batch carries no messages") }
        var messages: [ArraySlice<UInt8>] = []
        messages.reserveCapacity(count)
        for _ in 0..<count {
            let length = Int(try reader.u16("batched message length"))
            let message = try reader.slice(length, "batched message")
            guard let inner = message.first else { throw WireError(.invalidValue, "a batch carries an empty message") }
            guard inner != clientTag && inner != brokerTag else { throw WireError(.invalidValue, "a batch inside a batch") }
            messages.append(message)
        }
        try reader.expectEnd("batch")
        return messages
    }
}
