import CSodium

/// ChaCha20-Poly1305 (IETF, 96-bit nonce): the Noise transport cipher.
public enum ChaCha20Poly1305 {
    public static let keyByteCount = Int(crypto_aead_chacha20poly1305_ietf_KEYBYTES)
    public static let nonceByteCount = Int(crypto_aead_chacha20poly1305_ietf_NPUBBYTES)
    public static let tagByteCount = Int(crypto_aead_chacha20poly1305_ietf_ABYTES)
    private static let call = AEADCall(name: "ChaCha20-Poly1305", keyByteCount: keyByteCount, nonceByteCount: nonceByteCount,
                                       tagByteCount: tagByteCount, encrypt: crypto_aead_chacha20poly1305_ietf_encrypt,
                                       decrypt: crypto_aead_chacha20poly1305_ietf_decrypt)

    /// Encrypts and authenticates `plaintext` and `associatedData`; returns ciphertext ‖ tag.
    public static func seal(_ plaintext: [UInt8], key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8] = []) throws(SodiumError) -> [UInt8] {
        try call.seal(plaintext, key: key, nonce: nonce, associatedData: associatedData)
    }

    /// Encrypts with a key given as its 32 bytes and a nonce as its 12: for keys held together in
    /// one `SecureBytes` (a Noise transport's two directions) and nonces built on the stack.
    public static func seal(_ plaintext: UnsafeRawBufferPointer, keyBytes: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
                            associatedData: [UInt8] = []) throws(SodiumError) -> [UInt8] {
        try call.seal(plaintext, key: keyBytes, nonce: nonce, associatedData: associatedData).get()
    }

    /// Checks and decrypts ciphertext ‖ tag.
    public static func open(_ ciphertext: [UInt8], key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8] = []) throws(SodiumError) -> [UInt8] {
        try call.open(ciphertext, key: key, nonce: nonce, associatedData: associatedData)
    }

    /// Checks and decrypts with a key given as its 32 bytes and a nonce as its 12.
    public static func open(_ ciphertext: UnsafeRawBufferPointer, keyBytes: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
                            associatedData: [UInt8] = []) throws(SodiumError) -> [UInt8] {
        try call.open(ciphertext, key: keyBytes, nonce: nonce, associatedData: associatedData).get()
    }
}

/// XChaCha20-Poly1305 (192-bit nonce, safe to pick at random): the event payload cipher.
public enum XChaCha20Poly1305 {
    public static let keyByteCount = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    public static let nonceByteCount = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    public static let tagByteCount = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)
    private static let call = AEADCall(name: "XChaCha20-Poly1305", keyByteCount: keyByteCount, nonceByteCount: nonceByteCount,
                                       tagByteCount: tagByteCount, encrypt: crypto_aead_xchacha20poly1305_ietf_encrypt,
                                       decrypt: crypto_aead_xchacha20poly1305_ietf_decrypt)

    /// Encrypts and authenticates; returns ciphertext ‖ tag.
    public static func seal(_ plaintext: [UInt8], key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8] = []) throws(SodiumError) -> [UInt8] {
        try call.seal(plaintext, key: key, nonce: nonce, associatedData: associatedData)
    }

    /// Checks and decrypts ciphertext ‖ tag.
    public static func open(_ ciphertext: [UInt8], key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8] = []) throws(SodiumError) -> [UInt8] {
        try call.open(ciphertext, key: key, nonce: nonce, associatedData: associatedData)
    }
}

/// One libsodium AEAD construction: both share a calling convention. Lengths are checked here,
/// so the C functions never read past a buffer.
private struct AEADCall: Sendable {
    typealias Encrypt = @Sendable (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt64>?, UnsafePointer<UInt8>?, UInt64,
                                   UnsafePointer<UInt8>?, UInt64, UnsafePointer<UInt8>?, UnsafePointer<UInt8>, UnsafePointer<UInt8>) -> Int32
    typealias Decrypt = @Sendable (UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt64>?, UnsafeMutablePointer<UInt8>?,
                                   UnsafePointer<UInt8>, UInt64, UnsafePointer<UInt8>?, UInt64, UnsafePointer<UInt8>, UnsafePointer<UInt8>) -> Int32

    let name: String
    let keyByteCount: Int
    let nonceByteCount: Int
    let tagByteCount: Int
    let encrypt: Encrypt
    let decrypt: Decrypt

    func seal(_ plaintext: [UInt8], key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8]) throws(SodiumError) -> [UInt8] {
        let result = plaintext.withUnsafeBytes { p in
            key.withUnsafeBytes { k in nonce.withUnsafeBytes { n in seal(p, key: k, nonce: n, associatedData: associatedData) } }
        }
        return try result.get()
    }

    func open(_ ciphertext: [UInt8], key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8]) throws(SodiumError) -> [UInt8] {
        let result = ciphertext.withUnsafeBytes { c in
            key.withUnsafeBytes { k in nonce.withUnsafeBytes { n in open(c, key: k, nonce: n, associatedData: associatedData) } }
        }
        return try result.get()
    }

    private func check(key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer) -> SodiumError? {
        if key.count != keyByteCount || key.baseAddress == nil {
            return SodiumError(.invalidLength, "a \(name) key must be \(keyByteCount) bytes, got \(key.count)")
        }
        if nonce.count != nonceByteCount || nonce.baseAddress == nil {
            return SodiumError(.invalidLength, "a \(name) nonce must be \(nonceByteCount) bytes, got \(nonce.count)")
        }
        return nil
    }

    func seal(_ plaintext: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
              associatedData: [UInt8]) -> Result<[UInt8], SodiumError> {
        if let problem = check(key: key, nonce: nonce) { return .failure(problem) }
        SodiumLibrary.ensureInitialized()
        return .success([UInt8](unsafeUninitializedCapacity: plaintext.count + tagByteCount) { out, initialized in
            var length: UInt64 = 0
            associatedData.withUnsafeBufferPointer { ad in
                _ = encrypt(out.baseAddress!, &length, plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self),
                            UInt64(plaintext.count), ad.baseAddress, UInt64(ad.count), nil,
                            nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), key.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            initialized = Int(length)
        })
    }

    func open(_ ciphertext: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
              associatedData: [UInt8]) -> Result<[UInt8], SodiumError> {
        if let problem = check(key: key, nonce: nonce) { return .failure(problem) }
        SodiumLibrary.ensureInitialized()
        guard ciphertext.count >= tagByteCount, let input = ciphertext.baseAddress else {
            return .failure(SodiumError(.authenticationFailed, "ciphertext shorter than its \(tagByteCount)-byte tag"))
        }
        var status: Int32 = 0
        let plaintext = [UInt8](unsafeUninitializedCapacity: max(ciphertext.count - tagByteCount, 1)) { out, initialized in
            var length: UInt64 = 0
            associatedData.withUnsafeBufferPointer { ad in
                status = decrypt(out.baseAddress, &length, nil, input.assumingMemoryBound(to: UInt8.self),
                                 UInt64(ciphertext.count), ad.baseAddress, UInt64(ad.count),
                                 nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), key.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            initialized = status == 0 ? Int(length) : 0
        }
        guard status == 0 else { return .failure(SodiumError(.authenticationFailed, "decryption failed: wrong key or altered data")) }
        return .success(plaintext)
    }
}
