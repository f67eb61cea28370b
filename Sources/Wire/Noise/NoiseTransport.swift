import Sodium

/// The two directions of an established Noise session. Both keys live in one heap allocation
/// (sending key ‖ receiving key), zeroed when freed: an idle connection keeps nothing else of its
/// handshake.
public struct NoiseTransport: Sendable {
    private static let keyLength = ChaCha20Poly1305.keyByteCount
    private let keys: SecureBytes
    private var sendNonce: UInt64 = 0
    private var receiveNonce: UInt64 = 0

    /// Copies the two 32-byte keys.
    init(send: UnsafeRawBufferPointer, receive: UnsafeRawBufferPointer) {
        keys = SecureBytes([send, receive].joined(), placement: .heap)
    }

    /// Encrypts one outgoing transport message.
    public mutating func encrypt(_ plaintext: [UInt8]) throws(WireError) -> [UInt8] {
        let ciphertext = try keys.withUnsafeBytes { k in
            plaintext.withUnsafeBytes { p in
                NoiseCipherState.seal(p, keyBytes: UnsafeRawBufferPointer(rebasing: k[..<Self.keyLength]), nonce: sendNonce, associatedData: [])
            }
        }.get()
        sendNonce = try NoiseCipherState.advance(sendNonce)
        return ciphertext
    }

    /// Decrypts one incoming transport message; fails if it was altered, replayed or reordered.
    public mutating func decrypt(_ ciphertext: [UInt8]) throws(WireError) -> [UInt8] {
        let plaintext = try keys.withUnsafeBytes { k in
            ciphertext.withUnsafeBytes { c in
                NoiseCipherState.open(c, keyBytes: UnsafeRawBufferPointer(rebasing: k[Self.keyLength...]), nonce: receiveNonce, associatedData: [])
            }
        }.get()
        receiveNonce = try NoiseCipherState.advance(receiveNonce)
        return plaintext
    }
}
