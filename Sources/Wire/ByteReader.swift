import Sodium

/// Reads Polder's canonical encoding, failing with a `WireError` that names the field.
public struct ByteReader {
    private let bytes: [UInt8]
    private let end: Int
    public private(set) var offset: Int

    public init(_ bytes: [UInt8]) {
        self.init(bytes, count: bytes.count)
    }

    /// Reads only the first `count` bytes (at most all of them).
    public init(_ bytes: [UInt8], count: Int) {
        self.bytes = bytes
        end = min(max(count, 0), bytes.count)
        offset = 0
    }

    public var remaining: Int { end - offset }

    private mutating func take(_ count: Int, _ field: String) throws(WireError) -> ArraySlice<UInt8> {
        guard count >= 0, remaining >= count else {
            throw WireError(.truncated, "\(field): needs \(count) bytes, \(remaining) left")
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    /// Exactly 32 bytes, inline (keys and IDs).
    public mutating func raw32(_ field: String) throws(WireError) -> Bytes32 {
        try take(Bytes32.count, field).withUnsafeBytes { Bytes32(copying: $0) }
    }

    public mutating func u8(_ field: String) throws(WireError) -> UInt8 {
        try take(1, field).first!
    }

    public mutating func u16(_ field: String) throws(WireError) -> UInt16 {
        try take(2, field).reduce(0) { $0 << 8 | UInt16($1) }
    }

    public mutating func u32(_ field: String) throws(WireError) -> UInt32 {
        try take(4, field).reduce(0) { $0 << 8 | UInt32($1) }
    }

    public mutating func u64(_ field: String) throws(WireError) -> UInt64 {
        try take(8, field).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A fixed number of bytes.
    public mutating func raw(_ count: Int, _ field: String) throws(WireError) -> [UInt8] {
        Array(try take(count, field))
    }

    /// A byte string with a 32-bit length prefix, at most `limit` long.
    public mutating func bytes32(_ field: String, limit: Int) throws(WireError) -> [UInt8] {
        let length = Int(try u32(field))
        guard length <= limit else { throw WireError(.limitExceeded, "\(field): \(length) bytes exceeds the limit of \(limit)") }
        return try raw(length, field)
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
