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

    /// The handshake until it yields the transport keys; then nothing of it is kept (its hashes and
    /// ephemeral keys would otherwise stay with every idle connection).
    private enum Handshake {
        indirect case running(NoiseHandshake)
        /// Complete, or failed: a failed handshake cannot go on.
        case over
    }

    private var handshake: Handshake
    private var transport: NoiseTransport?
    private let proof: IdentityProof
    public private(set) var peerIdentity: SigningPublicKey?

    /// - Parameter noiseStaticKey: the X25519 static key; a process may reuse one for all connections.
    public init(role: NoiseHandshake.Role, identity: SigningKeyPair, noiseStaticKey: KeyAgreementKeyPair = KeyAgreementKeyPair(),
                proof: IdentityProof? = nil) {
        self.proof = proof ?? IdentityProof(identity: identity, noiseStaticKey: noiseStaticKey.publicKey)
        handshake = .running(NoiseHandshake(role: role, prologue: Self.prologue, staticKey: noiseStaticKey))
    }

    public var isEstablished: Bool { transport != nil }

    /// The initiator's first frame.
    public mutating func start() throws(WireError) -> [UInt8] {
        var state = try takeHandshake()
        let first = try state.writeMessage()
        handshake = .running(state)
        return first
    }

    /// Processes one received frame body.
    public mutating func receive(_ frame: [UInt8]) throws(WireError) -> Step {
        if transport != nil {
            return .message(try transport!.decrypt(frame))
        }
        var state = try takeHandshake()
        let payload = try state.readMessage(frame)
        switch (state.role, state.messageIndex) {
        case (.responder, 1):
            guard payload.isEmpty else { throw WireError(.handshakeFailed, "the first handshake message carries no payload") }
            let reply = try state.writeMessage(payload: proof.encoded)
            handshake = .running(state)
            return .send([reply])
        case (.initiator, 2):
            let peer = try verifiedPeer(payload, state)
            let final = try state.writeMessage(payload: proof.encoded)
            transport = try state.split()
            return .established(identity: peer, send: [final])
        case (.responder, 3):
            let peer = try verifiedPeer(payload, state)
            transport = try state.split()
            return .established(identity: peer, send: [])
        default:
            throw WireError(.handshakeFailed, "unexpected handshake message")
        }
    }

    /// The running handshake, taken out so that it changes in place (no other copy holds its
    /// arrays); the caller puts it back unless the handshake ended. A step that throws leaves none.
    private mutating func takeHandshake() throws(WireError) -> NoiseHandshake {
        guard case .running(let state) = handshake else {
            throw WireError(.handshakeFailed, transport == nil ? "the handshake failed earlier" : "the handshake is complete")
        }
        handshake = .over
        return state
    }

    private mutating func verifiedPeer(_ payload: [UInt8], _ state: NoiseHandshake) throws(WireError) -> SigningPublicKey {
        guard let remoteStatic = state.remoteStatic else { throw WireError(.handshakeFailed, "no remote static key") }
        let peer = try IdentityProof.verify(payload, noiseStaticKey: remoteStatic)
        peerIdentity = peer
        return peer
    }

    /// Encrypts one application message into a frame body.
    public mutating func seal(_ message: [UInt8]) throws(WireError) -> [UInt8] {
        guard transport != nil else { throw WireError(.handshakeFailed, "cannot send before the handshake completes") }
        guard message.count <= Limits.maximumMessageLength else {
            throw WireError(.limitExceeded, "a message of \(message.count) bytes exceeds the limit of \(Limits.maximumMessageLength)")
        }
        return try transport!.encrypt(message)
    }
}
