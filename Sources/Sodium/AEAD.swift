import CSodium

/// ChaCha20-Poly1305 (IETF, 96-bit nonce): the Noise transport cipher.
public enum ChaCha20Poly1305 {
    public static let nonceByteCount = Int(crypto_aead_chacha20poly1305_ietf_NPUBBYTES)
    public static let tagByteCount = Int(crypto_aead_chacha20poly1305_ietf_ABYTES)

    /// Encrypts and authenticates `plaintext` and `associatedData`; returns ciphertext ‖ tag.
    public static func seal(_ plaintext: UnsafeRawBufferPointer, key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8] = []) throws(SodiumError) -> [UInt8] {
        try SodiumError.checkLength(nonce, nonceByteCount, "a ChaCha20-Poly1305 nonce")
        return AEADCall.seal(plaintext, key: key, nonce: nonce, associatedData: associatedData, tagByteCount: tagByteCount,
                             function: crypto_aead_chacha20poly1305_ietf_encrypt)
    }

    public static func seal(_ plaintext: [UInt8], key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8] = []) throws(SodiumError) -> [UInt8] {
        try SodiumError.checkLength(nonce, nonceByteCount, "a ChaCha20-Poly1305 nonce")
        return plaintext.withUnsafeBytes { p in
            AEADCall.seal(p, key: key, nonce: nonce, associatedData: associatedData, tagByteCount: tagByteCount,
                          function: crypto_aead_chacha20poly1305_ietf_encrypt)
        }
    }

    /// Checks and decrypts ciphertext ‖ tag.
    public static func open(_ ciphertext: UnsafeRawBufferPointer, key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8] = []) throws(SodiumError) -> [UInt8] {
        try SodiumError.checkLength(nonce, nonceByteCount, "a ChaCha20-Poly1305 nonce")
        return try AEADCall.open(ciphertext, key: key, nonce: nonce, associatedData: associatedData, tagByteCount: tagByteCount,
                                 function: crypto_aead_chacha20poly1305_ietf_decrypt)
    }

    public static func open(_ ciphertext: [UInt8], key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8] = []) throws(SodiumError) -> [UInt8] {
        let result = ciphertext.withUnsafeBytes { c in
            Result { () throws(SodiumError) in try open(c, key: key, nonce: nonce, associatedData: associatedData) }
        }
        return try result.get()
    }
}

/// XChaCha20-Poly1305 (192-bit nonce, safe to pick at random): the event payload cipher.
public enum XChaCha20Poly1305 {
    public static let nonceByteCount = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    public static let tagByteCount = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)

    /// Encrypts and authenticates; returns ciphertext ‖ tag.
    public static func seal(_ plaintext: [UInt8], key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8] = []) throws(SodiumError) -> [UInt8] {
        try SodiumError.checkLength(nonce, nonceByteCount, "an XChaCha20-Poly1305 nonce")
        return plaintext.withUnsafeBytes { p in
            AEADCall.seal(p, key: key, nonce: nonce, associatedData: associatedData, tagByteCount: tagByteCount,
                          function: crypto_aead_xchacha20poly1305_ietf_encrypt)
        }
    }

    /// Checks and decrypts ciphertext ‖ tag.
    public static func open(_ ciphertext: [UInt8], key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8] = []) throws(SodiumError) -> [UInt8] {
        try SodiumError.checkLength(nonce, nonceByteCount, "an XChaCha20-Poly1305 nonce")
        let result = ciphertext.withUnsafeBytes { c in
            Result { () throws(SodiumError) in
                try AEADCall.open(c, key: key, nonce: nonce, associatedData: associatedData, tagByteCount: tagByteCount,
                                  function: crypto_aead_xchacha20poly1305_ietf_decrypt)
            }
        }
        return try result.get()
    }
}

/// The calling convention both libsodium AEAD constructions share.
private enum AEADCall {
    typealias Encrypt = (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt64>?, UnsafePointer<UInt8>?, UInt64,
                         UnsafePointer<UInt8>?, UInt64, UnsafePointer<UInt8>?, UnsafePointer<UInt8>, UnsafePointer<UInt8>) -> Int32
    typealias Decrypt = (UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt64>?, UnsafeMutablePointer<UInt8>?,
                         UnsafePointer<UInt8>, UInt64, UnsafePointer<UInt8>?, UInt64, UnsafePointer<UInt8>, UnsafePointer<UInt8>) -> Int32

    static func seal(_ plaintext: UnsafeRawBufferPointer, key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8],
                     tagByteCount: Int, function: Encrypt) -> [UInt8] {
        SodiumLibrary.ensureInitialized()
        return [UInt8](unsafeUninitializedCapacity: plaintext.count + tagByteCount) { out, initialized in
            var length: UInt64 = 0
            key.withUnsafeBytes { k in
                nonce.withUnsafeBufferPointer { n in
                    associatedData.withUnsafeBufferPointer { ad in
                        _ = function(out.baseAddress!, &length, plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                     UInt64(plaintext.count), ad.baseAddress, UInt64(ad.count), nil, n.baseAddress!,
                                     k.baseAddress!.assumingMemoryBound(to: UInt8.self))
                    }
                }
            }
            initialized = Int(length)
        }
    }

    static func open(_ ciphertext: UnsafeRawBufferPointer, key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8],
                     tagByteCount: Int, function: Decrypt) throws(SodiumError) -> [UInt8] {
        SodiumLibrary.ensureInitialized()
        guard ciphertext.count >= tagByteCount, let input = ciphertext.baseAddress else {
            throw SodiumError(.authenticationFailed, "ciphertext shorter than its \(tagByteCount)-byte tag")
        }
        var status: Int32 = 0
        let plaintext = [UInt8](unsafeUninitializedCapacity: max(ciphertext.count - tagByteCount, 1)) { out, initialized in
            var length: UInt64 = 0
            key.withUnsafeBytes { k in
                nonce.withUnsafeBufferPointer { n in
                    associatedData.withUnsafeBufferPointer { ad in
                        status = function(out.baseAddress, &length, nil, input.assumingMemoryBound(to: UInt8.self),
                                          UInt64(ciphertext.count), ad.baseAddress, UInt64(ad.count), n.baseAddress!,
                                          k.baseAddress!.assumingMemoryBound(to: UInt8.self))
                    }
                }
            }
            initialized = status == 0 ? Int(length) : 0
        }
        guard status == 0 else { throw SodiumError(.authenticationFailed, "decryption failed: wrong key or altered data") }
        return plaintext
    }
}
