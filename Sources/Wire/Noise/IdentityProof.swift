import Sodium

/// The handshake payload that binds a Noise static key to an Ed25519 identity
/// (protocol/README.md, "Handshake"): `version u8 = 1 ‖ identity[32] ‖ signature[64]`, where the
/// signature covers "polder/1 noise static key" ‖ the sender's Noise static public key.
public struct IdentityProof: Sendable, Equatable {
    static let version: UInt8 = 1
    static let context = Array("polder/1 noise static key".utf8)
    public static let encodedByteCount = 1 + 32 + 64

    public let identity: SigningPublicKey
    public let signature: [UInt8]

    /// Proves that `identity` owns `noiseStaticKey`.
    public init(identity: SigningKeyPair, noiseStaticKey: KeyAgreementPublicKey) {
        self.identity = identity.publicKey
        self.signature = identity.signature(for: Self.context + noiseStaticKey.bytes)
    }

    init(identity: SigningPublicKey, signature: [UInt8]) {
        self.identity = identity
        self.signature = signature
    }

    public var encoded: [UInt8] {
        [Self.version] + identity.bytes + signature
    }

    /// Parses a proof and checks it against the static key the handshake authenticated.
    public static func verify(_ bytes: [UInt8], noiseStaticKey: KeyAgreementPublicKey) throws(WireError) -> SigningPublicKey {
        var reader = ByteReader(bytes)
        let version = try reader.u8("identity proof version")
        guard version == Self.version else { throw WireError(.unsupported, "identity proof version \(version) is not supported") }
        let identity = try reader.signingKey("identity proof key")
        let signature = try reader.raw(SigningPublicKey.signatureByteCount, "identity proof signature")
        try reader.expectEnd("identity proof")
        guard identity.isValidSignature(signature, for: context + noiseStaticKey.bytes) else {
            throw WireError(.badSignature, "the peer's identity proof does not match its Noise static key")
        }
        return identity
    }
}
