import Sodium

/// A key or value the store writes, encoded straight into the buffer it goes to: LMDB's own page
/// for a value (`MDB_RESERVE`), a stack buffer for a key. An event's records (its bytes, its
/// position key, its sequence index entry, its publisher's head) then cost no arrays on the way.
public protocol StoreRecord {
    /// The encoded length.
    var byteCount: Int { get }
    /// Writes the encoding into `buffer`, which is exactly `byteCount` long.
    func write(to buffer: UnsafeMutableRawBufferPointer)
}

extension Array: StoreRecord where Element == UInt8 {
    public var byteCount: Int { count }

    public func write(to buffer: UnsafeMutableRawBufferPointer) {
        buffer.copyBytes(from: self)
    }
}

extension UnsafeMutableRawBufferPointer {
    /// Stores `value` big-endian at `offset`, which need not be aligned.
    func storeBigEndian(_ value: UInt64, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt64.self)
    }

    /// Stores 32 inline bytes (a key or an ID) at `offset`, which need not be aligned.
    func store(_ value: Bytes32, at offset: Int) {
        storeBytes(of: value, toByteOffset: offset, as: Bytes32.self)
    }
}
