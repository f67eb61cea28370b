import CSodium

/// Anonymous public-key encryption (`crypto_box_seal`): only the recipient can open it, and the
/// sender stays anonymous. Polder seals topic epoch keys to each reader with it.
public enum SealedBox {
    public static let overhead = Int(crypto_box_sealbytes())

    /// Encrypts `message` to `recipient`.
    public static func seal(_ message: [UInt8], to recipient: KeyAgreementPublicKey) -> [UInt8] {
        SodiumLibrary.ensureInitialized()
        var out = [UInt8](repeating: 0, count: message.count + overhead)
        out.withUnsafeMutableBufferPointer { o in
            message.withUnsafeBufferPointer { m in
                recipient.bytes.withUnsafeBufferPointer { pk in
                    _ = crypto_box_seal(o.baseAddress!, m.baseAddress, UInt64(m.count), pk.baseAddress!)
                }
            }
        }
        return out
    }

    /// Decrypts a sealed box addressed to `recipient`.
    public static func open(_ box: [UInt8], with recipient: KeyAgreementKeyPair) throws(SodiumError) -> [UInt8] {
        SodiumLibrary.ensureInitialized()
        guard box.count >= overhead else {
            throw SodiumError(.authenticationFailed, "a sealed box is at least \(overhead) bytes, got \(box.count)")
        }
        var out = [UInt8](repeating: 0, count: box.count - overhead)
        let status = out.withUnsafeMutableBufferPointer { o in
            box.withUnsafeBufferPointer { c in
                recipient.publicKey.bytes.withUnsafeBufferPointer { pk in
                    recipient.secretKey.withUnsafeBytes { sk in
                        crypto_box_seal_open(
                            o.baseAddress ?? UnsafeMutablePointer(mutating: c.baseAddress!), c.baseAddress!, UInt64(c.count),
                            pk.baseAddress!, sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
                    }
                }
            }
        }
        guard status == 0 else {
            throw SodiumError(.authenticationFailed, "the sealed box is not addressed to this key or was altered")
        }
        return out
    }
}
