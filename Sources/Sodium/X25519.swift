import CSodium

/// An X25519 public key.
public struct KeyAgreementPublicKey: Hashable, Sendable {
    public static let byteCount = 32
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) throws(SodiumError) {
        try SodiumError.checkLength(bytes, Self.byteCount, "an X25519 public key")
        self.bytes = bytes
    }
}

/// An X25519 key pair for Diffie-Hellman (Noise) and sealed boxes.
public struct KeyAgreementKeyPair: Sendable {
    public static let secretByteCount = 32

    public let publicKey: KeyAgreementPublicKey
    public let secretKey: SecureBytes

    /// A fresh random key pair; `.heap` placement for the ephemeral keys of one handshake.
    public init(placement: SecureBytes.Placement = .guarded) {
        try! self.init(secretKey: SecureBytes(randomCount: Self.secretByteCount, placement: placement))
    }

    /// The key pair of a given secret scalar (Noise test vectors fix their ephemeral keys this way).
    public init(secretKey: SecureBytes) throws(SodiumError) {
        SodiumLibrary.ensureInitialized()
        guard secretKey.count == Self.secretByteCount else {
            throw SodiumError(.invalidLength, "an X25519 secret key must be 32 bytes, got \(secretKey.count)")
        }
        var publicBytes = [UInt8](repeating: 0, count: KeyAgreementPublicKey.byteCount)
        secretKey.withUnsafeBytes { sk in
            publicBytes.withUnsafeMutableBufferPointer {
                _ = crypto_scalarmult_base($0.baseAddress!, sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        self.secretKey = secretKey
        self.publicKey = try KeyAgreementPublicKey(publicBytes)
    }

    /// The X25519 shared secret with `peer`; fails on low-order points (an all-zero result).
    public func sharedSecret(with peer: KeyAgreementPublicKey) throws(SodiumError) -> [UInt8] {
        var shared = [UInt8](repeating: 0, count: 32)
        let status = secretKey.withUnsafeBytes { sk in
            shared.withUnsafeMutableBufferPointer { out in
                peer.bytes.withUnsafeBufferPointer { pk in
                    crypto_scalarmult(out.baseAddress!, sk.baseAddress!.assumingMemoryBound(to: UInt8.self), pk.baseAddress!)
                }
            }
        }
        guard status == 0 else { throw SodiumError(.weakPublicKey, "the peer's X25519 key is a low-order point") }
        return shared
    }
}
