import CSodium

/// An Ed25519 public key: the identity of a broker, client, agent or topic.
public struct SigningPublicKey: Hashable, Sendable, Comparable {
    public static let byteCount = 32
    public static let signatureByteCount = 64

    /// The key's 32 bytes, inline.
    public let raw: Bytes32

    /// The key's bytes as an array (allocates).
    public var bytes: [UInt8] { raw.array }

    public init(_ bytes: [UInt8]) throws(SodiumError) {
        try SodiumError.checkLength(bytes, Self.byteCount, "an Ed25519 public key")
        raw = Bytes32(bytes)!
    }

    @inlinable public init(_ raw: Bytes32) {
        self.raw = raw
    }

    // Written out to be inlinable: dictionaries keyed by these are on every event's path.
    @inlinable public static func == (a: Self, b: Self) -> Bool { a.raw == b.raw }
    @inlinable public func hash(into hasher: inout Hasher) { raw.hash(into: &hasher) }
    @inlinable public func _rawHashValue(seed: Int) -> Int { raw._rawHashValue(seed: seed) }

    /// Whether `signature` is this key's signature of `message` (strict: non-canonical signatures fail).
    public func isValidSignature(_ signature: some Collection<UInt8>, for message: UnsafeRawBufferPointer) -> Bool {
        SodiumLibrary.ensureInitialized()
        guard signature.count == Self.signatureByteCount else { return false }
        let signatureBytes = Array(signature)
        return signatureBytes.withUnsafeBufferPointer { sig in
            raw.withUnsafeBytes { key in
                crypto_sign_verify_detached(
                    sig.baseAddress!, message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    UInt64(message.count), key.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0
            }
        }
    }

    /// Whether `signature` is this key's signature of `message`.
    public func isValidSignature(_ signature: some Collection<UInt8>, for message: [UInt8]) -> Bool {
        message.withUnsafeBytes { isValidSignature(signature, for: $0) }
    }

    /// The X25519 public key of the same key pair, for sealing data to this identity.
    public func keyAgreementKey() throws(SodiumError) -> KeyAgreementPublicKey {
        SodiumLibrary.ensureInitialized()
        var out = [UInt8](repeating: 0, count: KeyAgreementPublicKey.byteCount)
        let status = out.withUnsafeMutableBufferPointer { o in
            raw.withUnsafeBytes { crypto_sign_ed25519_pk_to_curve25519(o.baseAddress!, $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
        }
        guard status == 0 else { throw SodiumError(.weakPublicKey, "this Ed25519 key has no X25519 counterpart") }
        return try KeyAgreementPublicKey(out)
    }

    @inlinable public static func < (a: SigningPublicKey, b: SigningPublicKey) -> Bool { a.raw < b.raw }
}

/// An Ed25519 key pair; the secret part lives in guarded memory.
public struct SigningKeyPair: Sendable {
    public static let seedByteCount = 32

    public let publicKey: SigningPublicKey
    /// The 32-byte seed the key pair derives from (what identity files store).
    public let seed: SecureBytes
    private let secretKey: SecureBytes

    /// A fresh random key pair.
    public init() {
        let seed = SecureBytes(randomCount: Self.seedByteCount)
        // A random seed of the right length cannot fail.
        try! self.init(seed: seed)
    }

    /// The key pair a seed determines.
    public init(seed: SecureBytes) throws(SodiumError) {
        SodiumLibrary.ensureInitialized()
        guard seed.count == Self.seedByteCount else {
            throw SodiumError(.invalidLength, "an Ed25519 seed must be \(Self.seedByteCount) bytes, got \(seed.count)")
        }
        var publicBytes = [UInt8](repeating: 0, count: SigningPublicKey.byteCount)
        let secret = SecureBytes(count: Int(crypto_sign_SECRETKEYBYTES)) { secretBuffer in
            seed.withUnsafeBytes { seedBuffer in
                publicBytes.withUnsafeMutableBufferPointer { pk in
                    _ = crypto_sign_seed_keypair(
                        pk.baseAddress!, secretBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        seedBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
        self.seed = seed
        self.secretKey = secret
        self.publicKey = try SigningPublicKey(publicBytes)
    }

    /// Signs `message` (64-byte detached signature).
    public func signature(for message: UnsafeRawBufferPointer) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: SigningPublicKey.signatureByteCount)
        secretKey.withUnsafeBytes { sk in
            signature.withUnsafeMutableBufferPointer { sig in
                _ = crypto_sign_detached(
                    sig.baseAddress!, nil, message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    UInt64(message.count), sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return signature
    }

    /// Signs `message` (64-byte detached signature).
    public func signature(for message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { signature(for: $0) }
    }

    /// The X25519 key pair of the same identity, for opening data sealed to it.
    public func keyAgreementKeyPair() -> KeyAgreementKeyPair {
        let secret = SecureBytes(count: KeyAgreementKeyPair.secretByteCount) { out in
            secretKey.withUnsafeBytes { sk in
                _ = crypto_sign_ed25519_sk_to_curve25519(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        // A converted Ed25519 secret is always a valid X25519 scalar.
        return try! KeyAgreementKeyPair(secretKey: secret)
    }
}
