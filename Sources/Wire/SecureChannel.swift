import Sodium

/// One side of an authenticated, encrypted Polder connection as a pure state machine: the Noise XX
/// handshake with identity proofs, then transport encryption. Feed it received frame bodies; it
/// returns frame bodies to send and tells when the peer's identity is known.
public struct SecureChannel {
    /// The prologue names the protocol version; peers speaking another version fail the handshake.
    public static let prologue = Array("polder/1".utf8)

    public enum Step: Equatable {
        /// Frames to send; the handshake goes on.
        case send([[UInt8]])
        /// The handshake finished: the peer is `identity`; send these frames first (may be empty).
        case established(identity: SigningPublicKey, send: [[UInt8]])
        /// A decrypted application message.
        case message([UInt8])
    }

    /// Where the channel is. The handshake (its hashes, its ephemeral keys and the proof this side
    /// sends) is dropped once it yields the transport: an idle connection keeps only its two keys.
    private enum State {
        indirect case handshaking(NoiseHandshake, proof: IdentityProof)
        case established(NoiseTransport)
        /// A handshake step failed: the channel cannot go on.
        case failed
    }

    private var state: State

    /// - Parameter noiseStaticKey: the X25519 static key; a process may reuse one for all connections.
    public init(role: NoiseHandshake.Role, identity: SigningKeyPair, noiseStaticKey: KeyAgreementKeyPair = KeyAgreementKeyPair(),
                proof: IdentityProof? = nil) {
        state = .handshaking(NoiseHandshake(role: role, prologue: Self.prologue, staticKey: noiseStaticKey),
                             proof: proof ?? IdentityProof(identity: identity, noiseStaticKey: noiseStaticKey.publicKey))
    }

    public var isEstablished: Bool {
        if case .established = state { true } else { false }
    }

    /// The initiator's first frame.
    public mutating func start() throws(WireError) -> [UInt8] {
        var (handshake, proof) = try takeHandshake()
        let first = try handshake.writeMessage()
        state = .handshaking(handshake, proof: proof)
        return first
    }

    /// Processes one received frame body.
    public mutating func receive(_ frame: [UInt8]) throws(WireError) -> Step {
        if case .established(var transport) = state {
            let message = try transport.decrypt(frame)
            state = .established(transport)
            return .message(message)
        }
        var (handshake, proof) = try takeHandshake()
        let payload = try handshake.readMessage(frame)
        switch (handshake.role, handshake.messageIndex) {
        case (.responder, 1):
            guard payload.isEmpty else { throw WireError(.handshakeFailed, "the first handshake message carries no payload") }
            let reply = try handshake.writeMessage(payload: proof.encoded)
            state = .handshaking(handshake, proof: proof)
            return .send([reply])
        case (.initiator, 2):
            let peer = try Self.verifiedPeer(payload, handshake)
            let final = try handshake.writeMessage(payload: proof.encoded)
            state = .established(try handshake.split())
            return .established(identity: peer, send: [final])
        case (.responder, 3):
            let peer = try Self.verifiedPeer(payload, handshake)
            state = .established(try handshake.split())
            return .established(identity: peer, send: [])
        default:
            throw WireError(.handshakeFailed, "unexpected handshake message")
        }
    }

    /// The running handshake, taken out so that it changes in place (no other copy holds its
    /// arrays); the caller puts it back unless the handshake ended. A step that throws leaves the
    /// channel failed.
    private mutating func takeHandshake() throws(WireError) -> (NoiseHandshake, IdentityProof) {
        switch state {
        case let .handshaking(handshake, proof):
            state = .failed
            return (handshake, proof)
        case .established:
            throw WireError(.handshakeFailed, "the handshake is complete")
        case .failed:
            throw WireError(.handshakeFailed, "the handshake failed earlier")
        }
    }

    private static func verifiedPeer(_ payload: [UInt8], _ handshake: NoiseHandshake) throws(WireError) -> SigningPublicKey {
        guard let remoteStatic = handshake.remoteStatic else { throw WireError(.handshakeFailed, "no remote static key") }
        return try IdentityProof.verify(payload, noiseStaticKey: remoteStatic)
    }

    /// Encrypts one application message into a frame body.
    public mutating func seal(_ message: [UInt8]) throws(WireError) -> [UInt8] {
        guard case .established(var transport) = state else {
            throw WireError(.handshakeFailed, "cannot send before the handshake completes")
        }
        guard message.count <= Limits.maximumMessageLength else {
            throw WireError(.limitExceeded, "a message of \(message.count) bytes exceeds the limit of \(Limits.maximumMessageLength)")
        }
        let frame = try transport.encrypt(message)
        state = .established(transport)
        return frame
    }
}
