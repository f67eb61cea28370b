import Sodium

/// The text form of an identity or topic ID: lowercase RFC 4648 base32 (no padding) of the 32-byte
/// Ed25519 key followed by a 3-byte checksum (the first 3 bytes of its BLAKE2b-256). 56 characters.
extension SigningPublicKey {
    static let checksumByteCount = 3
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    /// The 56-character text form.
    public var text: String {
        let checksum = BLAKE2b.hash(bytes, outputByteCount: 32).prefix(Self.checksumByteCount)
        return Self.base32(bytes + checksum)
    }

    /// Parses the text form, checking length, alphabet and checksum.
    public init(text: String) throws(WireError) {
        let input = Array(text.lowercased().utf8)
        let expectedLength = (Self.byteCount + Self.checksumByteCount) * 8 / 5
        guard input.count == expectedLength else {
            throw WireError(.invalidValue, "malformed ID '\(text)': expected \(expectedLength) characters, got \(input.count)")
        }
        var decoded: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for character in input {
            guard let value = Self.alphabet.firstIndex(of: character) else {
                throw WireError(.invalidValue, "malformed ID '\(text)': '\(Character(Unicode.Scalar(character)))' is not a base32 character")
            }
            buffer = buffer << 5 | UInt32(value)
            bits += 5
            if bits >= 8 {
                bits -= 8
                decoded.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        let key = Array(decoded.prefix(Self.byteCount))
        let checksum = Array(decoded.suffix(Self.checksumByteCount))
        guard Array(BLAKE2b.hash(key, outputByteCount: 32).prefix(Self.checksumByteCount)) == checksum else {
            throw WireError(.invalidValue, "malformed ID '\(text)': checksum mismatch (a typo?)")
        }
        do { try self.init(key) } catch { throw WireError(.invalidValue, "malformed ID '\(text)': \(error)") }
    }

    private static func base32(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = buffer << 8 | UInt32(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                output.append(alphabet[Int(buffer >> UInt32(bits) & 31)])
            }
        }
        if bits > 0 { output.append(alphabet[Int(buffer << UInt32(5 - bits) & 31)]) }
        return String(decoding: output, as: UTF8.self)
    }
}

extension ByteReader {
    /// A 32-byte event ID.
    public mutating func eventID(_ field: String) throws(WireError) -> EventID {
        EventID(try raw32(field))
    }

    /// A 32-byte Ed25519 public key.
    public mutating func signingKey(_ field: String) throws(WireError) -> SigningPublicKey {
        SigningPublicKey(try raw32(field))
    }
}
