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

    private var handshake: NoiseHandshake
    private var transport: NoiseTransport?
    private let proof: IdentityProof
    public private(set) var peerIdentity: SigningPublicKey?

    /// - Parameter noiseStaticKey: the X25519 static key; a process may reuse one for all connections.
    public init(role: NoiseHandshake.Role, identity: SigningKeyPair, noiseStaticKey: KeyAgreementKeyPair = KeyAgreementKeyPair(),
                proof: IdentityProof? = nil) {
        self.proof = proof ?? IdentityProof(identity: identity, noiseStaticKey: noiseStaticKey.publicKey)
        handshake = NoiseHandshake(role: role, prologue: Self.prologue, staticKey: noiseStaticKey)
    }

    public var isEstablished: Bool { transport != nil }

    /// The initiator's first frame.
    public mutating func start() throws(WireError) -> [UInt8] {
        try handshake.writeMessage()
    }

    /// Processes one received frame body.
    public mutating func receive(_ frame: [UInt8]) throws(WireError) -> Step {
        if transport != nil {
            return .message(try transport!.decrypt(frame))
        }
        let payload = try handshake.readMessage(frame)
        switch (handshake.role, handshake.messageIndex) {
        case (.responder, 1):
            guard payload.isEmpty else { throw WireError(.handshakeFailed, "the first handshake message carries no payload") }
            return .send([try handshake.writeMessage(payload: proof.encoded)])
        case (.initiator, 2):
            let peer = try verifiedPeer(payload)
            let final = try handshake.writeMessage(payload: proof.encoded)
            transport = try handshake.split()
            return .established(identity: peer, send: [final])
        case (.responder, 3):
            let peer = try verifiedPeer(payload)
            transport = try handshake.split()
            return .established(identity: peer, send: [])
        default:
            throw WireError(.handshakeFailed, "unexpected handshake message")
        }
    }

    private mutating func verifiedPeer(_ payload: [UInt8]) throws(WireError) -> SigningPublicKey {
        guard let remoteStatic = handshake.remoteStatic else { throw WireError(.handshakeFailed, "no remote static key") }
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
