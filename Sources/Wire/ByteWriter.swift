import Sodium

/// Builds Polder's canonical encoding: big-endian fixed-width integers and length-prefixed byte strings.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func u8(_ value: UInt8) { bytes.append(value) }

    public mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    public mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// Bytes with no length prefix (fixed-size fields such as keys).
    public mutating func raw(_ value: some Sequence<UInt8>) { bytes.append(contentsOf: value) }

    /// 32 bytes held inline (keys and IDs), with no length prefix.
    public mutating func raw(_ value: Bytes32) { value.withUnsafeBytes { bytes.append(contentsOf: $0) } }

    /// A byte string with a 32-bit length prefix.
    public mutating func bytes32(_ value: [UInt8]) {
        u32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    /// A UTF-8 string with a 16-bit length prefix.
    public mutating func string16(_ value: String) {
        let utf8 = Array(value.utf8)
        u16(UInt16(utf8.count))
        bytes.append(contentsOf: utf8)
    }
}
