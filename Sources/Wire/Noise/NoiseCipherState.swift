import Sodium

/// Noise CipherState for ChaChaPoly: a key and a 64-bit nonce counter (Noise spec §5.1).
public struct NoiseCipherState: Sendable {
    private var key: SymmetricKey?
    private var nonce: UInt64 = 0

    init(key: SymmetricKey? = nil) {
        self.key = key
    }

    var hasKey: Bool { key != nil }

    mutating func initializeKey(_ key: SymmetricKey) {
        self.key = key
        nonce = 0
    }

    /// The 96-bit ChaChaPoly nonce: 32 zero bits then the counter, little-endian.
    private func nonceBytes() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 12)
        for index in 0..<8 { bytes[4 + index] = UInt8(truncatingIfNeeded: nonce >> (8 * UInt64(index))) }
        return bytes
    }

    private mutating func advance() throws(WireError) {
        // 2^64-1 is reserved; a connection that reaches it must be replaced.
        guard nonce < UInt64.max - 1 else { throw WireError(.handshakeFailed, "Noise nonce exhausted: reconnect") }
        nonce += 1
    }

    mutating func encrypt(associatedData: [UInt8], plaintext: UnsafeRawBufferPointer) throws(WireError) -> [UInt8] {
        guard let key else { return Array(plaintext) }
        let ciphertext: [UInt8]
        do { ciphertext = try ChaCha20Poly1305.seal(plaintext, key: key, nonce: nonceBytes(), associatedData: associatedData) } catch {
            throw WireError(.handshakeFailed, "\(error)")
        }
        try advance()
        return ciphertext
    }

    mutating func encrypt(associatedData: [UInt8], plaintext: [UInt8]) throws(WireError) -> [UInt8] {
        let result = plaintext.withUnsafeBytes { p in
            Result { () throws(WireError) in try encrypt(associatedData: associatedData, plaintext: p) }
        }
        return try result.get()
    }

    mutating func decrypt(associatedData: [UInt8], ciphertext: UnsafeRawBufferPointer) throws(WireError) -> [UInt8] {
        guard let key else { return Array(ciphertext) }
        let plaintext: [UInt8]
        do { plaintext = try ChaCha20Poly1305.open(ciphertext, key: key, nonce: nonceBytes(), associatedData: associatedData) } catch {
            throw WireError(.decryptionFailed, "frame failed authentication")
        }
        try advance()
        return plaintext
    }

    mutating func decrypt(associatedData: [UInt8], ciphertext: [UInt8]) throws(WireError) -> [UInt8] {
        let result = ciphertext.withUnsafeBytes { c in
            Result { () throws(WireError) in try decrypt(associatedData: associatedData, ciphertext: c) }
        }
        return try result.get()
    }
}
