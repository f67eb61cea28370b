import Sodium

/// The on-disk form of an identity (protocol/README.md, "Identity file"): two lines of text,
/// `polder-identity-v1` and the 32-byte Ed25519 seed in hex. Stored with mode 0600.
public enum IdentityFile {
    static let header = "polder-identity-v1"

    public static func encode(_ keyPair: SigningKeyPair) -> [UInt8] {
        var seed = keyPair.seed.unprotectedCopy
        defer { Memory.zero(&seed) }
        return Array("\(header)\n\(Hex.encode(seed))\n".utf8)
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> SigningKeyPair {
        let lines = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
        guard lines.count == 2, lines[0] == header else {
            throw WireError(.invalidValue, "not a Polder identity file (expected a '\(header)' line and a seed line)")
        }
        var seed = try Hex.decode(lines[1])
        defer { Memory.zero(&seed) }
        guard seed.count == SigningKeyPair.seedByteCount else {
            throw WireError(.invalidValue, "identity file seed must be 32 bytes of hex, got \(seed.count) bytes")
        }
        return try! SigningKeyPair(seed: SecureBytes(seed))
    }
}
