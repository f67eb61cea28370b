import Sodium

/// Reads Polder's canonical encoding, failing with a `WireError` that names the field.
///
/// Reads from an array or a slice of one (a message inside a batch) without copying it; only
/// `raw` and `bytes32` copy what they return, `slice32` shares the reader's storage.
public struct ByteReader {
    private let bytes: ArraySlice<UInt8>
    /// Indices into `bytes` (a slice keeps its base array's indices).
    private var index: Int
    private let end: Int

    public init(_ bytes: [UInt8]) {
        self.init(bytes[...])
    }

    /// Reads only the first `count` bytes (at most all of them).
    public init(_ bytes: [UInt8], count: Int) {
        self.init(bytes[..<min(max(count, 0), bytes.count)])
    }

    public init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        index = bytes.startIndex
        end = bytes.endIndex
    }

    public var remaining: Int { end - index }

    /// Moves past `count` bytes; returns the index of the first.
    private mutating func advance(_ count: Int, _ field: String) throws(WireError) -> Int {
        guard count >= 0, remaining >= count else {
            throw WireError(.truncated, "\(field): needs \(count) bytes, \(remaining) left")
        }
        defer { index += count }
        return index
    }

    /// A big-endian integer of `T`'s width, loaded in one step (no slice per field).
    private mutating func integer<T: FixedWidthInteger>(_ type: T.Type, _ field: String) throws(WireError) -> T {
        let at = try advance(MemoryLayout<T>.size, field) - bytes.startIndex
        return T(bigEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: T.self) })
    }

    /// Exactly 32 bytes, inline (keys and IDs).
    public mutating func raw32(_ field: String) throws(WireError) -> Bytes32 {
        let at = try advance(Bytes32.count, field) - bytes.startIndex
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: Bytes32.self) }
    }

    public mutating func u8(_ field: String) throws(WireError) -> UInt8 {
        bytes[try advance(1, field)]
    }

    public mutating func u16(_ field: String) throws(WireError) -> UInt16 {
        try integer(UInt16.self, field)
    }

    public mutating func u32(_ field: String) throws(WireError) -> UInt32 {
        try integer(UInt32.self, field)
    }

    public mutating func u64(_ field: String) throws(WireError) -> UInt64 {
        try integer(UInt64.self, field)
    }

    /// A fixed number of bytes, copied out.
    public mutating func raw(_ count: Int, _ field: String) throws(WireError) -> [UInt8] {
        Array(try slice(count, field))
    }

    /// `raw` without the copy: a slice sharing the reader's storage (and keeping it alive).
    public mutating func slice(_ count: Int, _ field: String) throws(WireError) -> ArraySlice<UInt8> {
        let at = try advance(count, field)
        return bytes[at..<at + count]
    }

    /// A byte string with a 32-bit length prefix, at most `limit` long, copied out.
    public mutating func bytes32(_ field: String, limit: Int) throws(WireError) -> [UInt8] {
        Array(try slice32(field, limit: limit))
    }

    /// `bytes32` without the copy: a slice sharing the reader's storage (and keeping it alive).
    public mutating func slice32(_ field: String, limit: Int) throws(WireError) -> ArraySlice<UInt8> {
        let length = Int(try u32(field))
        guard length <= limit else { throw WireError(.limitExceeded, "\(field): \(length) bytes exceeds the limit of \(limit)") }
        return try slice(length, field)
    }

    /// A UTF-8 string with a 16-bit length prefix, at most `limit` bytes.
    public mutating func string16(_ field: String, limit: Int) throws(WireError) -> String {
        let length = Int(try u16(field))
        guard length <= limit else { throw WireError(.limitExceeded, "\(field): \(length) bytes exceeds the limit of \(limit)") }
        let utf8 = try raw(length, field)
        guard let string = String(validating: utf8, as: UTF8.self) else {
            throw WireError(.invalidValue, "\(field): not valid UTF-8")
        }
        return string
    }

    /// Fails unless every byte has been read: each structure has exactly one encoding.
    public func expectEnd(_ structure: String) throws(WireError) {
        guard remaining == 0 else { throw WireError(.trailingBytes, "\(structure): \(remaining) unexpected bytes after the end") }
    }
}
