import Wire

/// One event as the store holds it: its position in the topic, when the broker accepted it, when
/// it expires, and the signed event byte for byte as published.
public struct StoredEvent: Sendable {
    public let position: UInt64
    /// Milliseconds since the Unix epoch.
    public let arrival: UInt64
    /// The event's own expiry, milliseconds since the Unix epoch; 0 means never.
    public let expiry: UInt64
    /// The encoded signed event.
    public let encoded: [UInt8]

    public func isExpired(at now: UInt64) -> Bool { expiry != 0 && expiry <= now }

    // MARK: Encoding (protocol/README.md, "Broker store")

    /// The `events` key: topic ‖ position, so that a topic's events are one ordered run.
    struct Key: StoreRecord {
        let topic: TopicID
        let position: UInt64

        var byteCount: Int { 40 }

        func write(to buffer: UnsafeMutableRawBufferPointer) {
            buffer.store(topic.raw, at: 0)
            buffer.storeBigEndian(position, at: 32)
        }
    }

    /// The `events` value: arrival ‖ expiry ‖ the encoded signed event.
    struct Value: StoreRecord {
        let arrival: UInt64
        let expiry: UInt64
        let encoded: [UInt8]

        var byteCount: Int { 16 + encoded.count }

        func write(to buffer: UnsafeMutableRawBufferPointer) {
            buffer.storeBigEndian(arrival, at: 0)
            buffer.storeBigEndian(expiry, at: 8)
            UnsafeMutableRawBufferPointer(rebasing: buffer[16...]).copyBytes(from: encoded)
        }
    }

    /// Arrival and expiry from a stored value, without copying the event.
    static func header<Bytes: RandomAccessCollection<UInt8>>(_ value: Bytes) throws(StoreError) -> (arrival: UInt64, expiry: UInt64)
    where Bytes.Index == Int {
        guard value.count > 16 else { throw StoreError(.corrupt, "a stored event record is \(value.count) bytes, too short") }
        return (bigEndian(value, at: value.startIndex), bigEndian(value, at: value.startIndex + 8))
    }

    static func bigEndian<Bytes: RandomAccessCollection<UInt8>>(_ buffer: Bytes, at offset: Int) -> UInt64 where Bytes.Index == Int {
        var result: UInt64 = 0
        for index in offset..<offset + 8 { result = result << 8 | UInt64(buffer[index]) }
        return result
    }
}
