import Sodium

/// The `Noise_XX_25519_ChaChaPoly_BLAKE2b` handshake (Noise spec §7.5):
///
///     -> e
///     <- e, ee, s, es
///     -> s, se
///
/// Drive it by alternating `writeMessage` and `readMessage` from the role's side; after three
/// messages `isComplete` is true and `split()` gives the transport.
public struct NoiseHandshake {
    public static let protocolName = "Noise_XX_25519_ChaChaPoly_BLAKE2b"

    public enum Role: Sendable { case initiator, responder }

    public let role: Role
    private var symmetric: NoiseSymmetricState
    private let localStatic: KeyAgreementKeyPair
    private var localEphemeral: KeyAgreementKeyPair?
    private let presetEphemeral: KeyAgreementKeyPair?
    public private(set) var remoteStatic: KeyAgreementPublicKey?
    private var remoteEphemeral: KeyAgreementPublicKey?
    /// Handshake messages processed so far (0...3).
    public private(set) var messageIndex = 0

    /// - Parameter ephemeral: only for test vectors; a fresh key is generated otherwise.
    public init(role: Role, prologue: [UInt8], staticKey: KeyAgreementKeyPair, ephemeral: KeyAgreementKeyPair? = nil) {
        self.role = role
        self.localStatic = staticKey
        self.presetEphemeral = ephemeral
        symmetric = NoiseSymmetricState(protocolName: Self.protocolName)
        symmetric.mixHash(prologue)
    }

    public var isComplete: Bool { messageIndex == 3 }

    /// The handshake hash, for channel binding.
    public var handshakeHash: [UInt8] { symmetric.handshakeHash }

    private var isMyTurnToWrite: Bool {
        // The initiator writes messages 0 and 2, the responder message 1.
        (messageIndex % 2 == 0) == (role == .initiator)
    }

    private mutating func dh(_ local: KeyAgreementKeyPair?, _ remote: KeyAgreementPublicKey?) throws(WireError) -> [UInt8] {
        guard let local, let remote else { throw WireError(.handshakeFailed, "Noise handshake out of order") }
        do { return try local.sharedSecret(with: remote) } catch { throw WireError(.handshakeFailed, "Noise: \(error)") }
    }

    /// Produces the next handshake message carrying `payload`.
    public mutating func writeMessage(payload: [UInt8] = []) throws(WireError) -> [UInt8] {
        guard !isComplete, isMyTurnToWrite else { throw WireError(.handshakeFailed, "not this side's turn to write a handshake message") }
        var message: [UInt8] = []
        switch messageIndex {
        case 0:  // -> e
            let ephemeral = presetEphemeral ?? KeyAgreementKeyPair(placement: .heap)
            localEphemeral = ephemeral
            message += ephemeral.publicKey.bytes
            symmetric.mixHash(ephemeral.publicKey.bytes)
        case 1:  // <- e, ee, s, es
            let ephemeral = presetEphemeral ?? KeyAgreementKeyPair(placement: .heap)
            localEphemeral = ephemeral
            message += ephemeral.publicKey.bytes
            symmetric.mixHash(ephemeral.publicKey.bytes)
            symmetric.mixKey(try dh(localEphemeral, remoteEphemeral))
            message += try symmetric.encryptAndHash(localStatic.publicKey.bytes)
            symmetric.mixKey(try dh(localStatic, remoteEphemeral))
        default:  // -> s, se
            message += try symmetric.encryptAndHash(localStatic.publicKey.bytes)
            symmetric.mixKey(try dh(localStatic, remoteEphemeral))
        }
        message += try symmetric.encryptAndHash(payload)
        messageIndex += 1
        return message
    }

    /// Consumes the next handshake message and returns its payload.
    public mutating func readMessage(_ message: [UInt8]) throws(WireError) -> [UInt8] {
        guard !isComplete, !isMyTurnToWrite else { throw WireError(.handshakeFailed, "not this side's turn to read a handshake message") }
        var reader = ByteReader(message)
        let keyLength = KeyAgreementPublicKey.byteCount
        let encryptedKeyLength = keyLength + ChaCha20Poly1305.tagByteCount
        switch messageIndex {
        case 0:  // -> e
            let e = try reader.raw(keyLength, "Noise ephemeral key")
            remoteEphemeral = try! KeyAgreementPublicKey(e)
            symmetric.mixHash(e)
        case 1:  // <- e, ee, s, es
            let e = try reader.raw(keyLength, "Noise ephemeral key")
            remoteEphemeral = try! KeyAgreementPublicKey(e)
            symmetric.mixHash(e)
            symmetric.mixKey(try dh(localEphemeral, remoteEphemeral))
            let s = try symmetric.decryptAndHash(try reader.raw(encryptedKeyLength, "Noise static key"))
            remoteStatic = try! KeyAgreementPublicKey(s)
            symmetric.mixKey(try dh(localEphemeral, remoteStatic))
        default:  // -> s, se
            let s = try symmetric.decryptAndHash(try reader.raw(encryptedKeyLength, "Noise static key"))
            remoteStatic = try! KeyAgreementPublicKey(s)
            symmetric.mixKey(try dh(localEphemeral, remoteStatic))
        }
        let payload = try symmetric.decryptAndHash(try reader.raw(reader.remaining, "Noise payload"))
        messageIndex += 1
        return payload
    }

    /// The transport ciphers, once the handshake is complete.
    public mutating func split() throws(WireError) -> NoiseTransport {
        guard isComplete else { throw WireError(.handshakeFailed, "Noise handshake not complete") }
        return symmetric.split(asInitiator: role == .initiator)
    }
}
