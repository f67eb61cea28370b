import Sodium

/// Noise CipherState for ChaChaPoly: a key and a 64-bit nonce counter (Noise spec §5.1). The
/// handshake's cipher; an established session's two directions are a `NoiseTransport`.
public struct NoiseCipherState: Sendable {
    private var key: SymmetricKey?
    private var nonce: UInt64 = 0

    mutating func initializeKey(_ key: SymmetricKey) {
        self.key = key
        nonce = 0
    }

    mutating func encrypt(associatedData: [UInt8], plaintext: [UInt8]) throws(WireError) -> [UInt8] {
        guard let key else { return plaintext }
        let ciphertext = try key.withUnsafeBytes { k in
            plaintext.withUnsafeBytes { p in Self.seal(p, keyBytes: k, nonce: nonce, associatedData: associatedData) }
        }.get()
        nonce = try Self.advance(nonce)
        return ciphertext
    }

    mutating func decrypt(associatedData: [UInt8], ciphertext: [UInt8]) throws(WireError) -> [UInt8] {
        guard let key else { return ciphertext }
        let plaintext = try key.withUnsafeBytes { k in
            ciphertext.withUnsafeBytes { c in Self.open(c, keyBytes: k, nonce: nonce, associatedData: associatedData) }
        }.get()
        nonce = try Self.advance(nonce)
        return plaintext
    }

    // MARK: ChaChaPoly with Noise's nonce, shared with NoiseTransport

    /// The counter after `nonce`; 2^64-1 is reserved, so a connection that reaches it must be replaced.
    static func advance(_ nonce: UInt64) throws(WireError) -> UInt64 {
        guard nonce < UInt64.max - 1 else { throw WireError(.handshakeFailed, "Noise nonce exhausted: reconnect") }
        return nonce + 1
    }

    /// Calls `body` with the 96-bit ChaChaPoly nonce for `counter`: 32 zero bits, then the counter
    /// little-endian. It lives on the stack: a frame costs no allocation for it.
    private static func withNonce<R>(_ counter: UInt64, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var nonce = (UInt32(0), UInt32(truncatingIfNeeded: counter).littleEndian, UInt32(truncatingIfNeeded: counter >> 32).littleEndian)
        return withUnsafeBytes(of: &nonce, body)
    }

    static func seal(_ plaintext: UnsafeRawBufferPointer, keyBytes: UnsafeRawBufferPointer, nonce: UInt64,
                     associatedData: [UInt8]) -> Result<[UInt8], WireError> {
        withNonce(nonce) { n in
            Result { () throws(SodiumError) in try ChaCha20Poly1305.seal(plaintext, keyBytes: keyBytes, nonce: n, associatedData: associatedData) }
                .mapError { WireError(.handshakeFailed, "\($0)") }
        }
    }

    static func open(_ ciphertext: UnsafeRawBufferPointer, keyBytes: UnsafeRawBufferPointer, nonce: UInt64,
                     associatedData: [UInt8]) -> Result<[UInt8], WireError> {
        withNonce(nonce) { n in
            Result { () throws(SodiumError) in try ChaCha20Poly1305.open(ciphertext, keyBytes: keyBytes, nonce: n, associatedData: associatedData) }
                .mapError { _ in WireError(.decryptionFailed, "frame failed authentication") }
        }
    }
}
