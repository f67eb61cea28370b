import Sodium

/// Builds Polder's canonical encoding: big-endian fixed-width integers and length-prefixed byte strings.
///
/// Inlinable, because every message, stored event and store key is built with it: called across
/// modules, each field cost a call and a dynamic exclusivity check.
public struct ByteWriter: Sendable {
    @usableFromInline var storage: [UInt8]

    /// The bytes written so far.
    @inlinable public var bytes: [UInt8] { storage }

    @inlinable
    public init(capacity: Int = 256) {
        storage = []
        storage.reserveCapacity(capacity)
    }

    @inlinable public mutating func u8(_ value: UInt8) { storage.append(value) }

    @inlinable public mutating func u16(_ value: UInt16) { store(value.bigEndian) }

    @inlinable public mutating func u32(_ value: UInt32) { store(value.bigEndian) }

    @inlinable public mutating func u64(_ value: UInt64) { store(value.bigEndian) }

    /// Bytes with no length prefix (fixed-size fields such as keys).
    @inlinable public mutating func raw(_ value: some Sequence<UInt8>) { storage.append(contentsOf: value) }

    /// 32 bytes held inline (keys and IDs), with no length prefix.
    @inlinable public mutating func raw(_ value: Bytes32) { store(value) }

    /// A byte string with a 32-bit length prefix.
    @inlinable
    public mutating func bytes32(_ value: some Collection<UInt8>) {
        u32(UInt32(value.count))
        storage.append(contentsOf: value)
    }

    /// A UTF-8 string with a 16-bit length prefix.
    @inlinable
    public mutating func string16(_ value: String) {
        let utf8 = Array(value.utf8)
        u16(UInt16(utf8.count))
        storage.append(contentsOf: utf8)
    }

    /// Appends the memory of `value` as it is (callers pass big-endian integers or byte holders).
    @inlinable
    mutating func store<T: BitwiseCopyable>(_ value: T) {
        withUnsafeBytes(of: value) { storage.append(contentsOf: $0) }
    }
}
