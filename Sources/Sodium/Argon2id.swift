import CSodium

/// Argon2id pass-phrase key derivation (`crypto_pwhash`), for keys a person unlocks with a pass phrase.
public enum Argon2id {
    public static let saltByteCount = Int(crypto_pwhash_SALTBYTES)

    /// Cost settings: operations and memory.
    public struct Cost: Sendable, Equatable {
        public let operations: UInt64
        public let memoryBytes: Int

        public init(operations: UInt64, memoryBytes: Int) {
            self.operations = operations
            self.memoryBytes = memoryBytes
        }

        /// libsodium's interactive limits (~70 ms, 64 MiB here).
        public static let interactive = Cost(operations: UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE),
                                             memoryBytes: Int(crypto_pwhash_MEMLIMIT_INTERACTIVE))
        /// libsodium's moderate limits (256 MiB): for identity files at rest.
        public static let moderate = Cost(operations: UInt64(crypto_pwhash_OPSLIMIT_MODERATE),
                                          memoryBytes: Int(crypto_pwhash_MEMLIMIT_MODERATE))
    }

    /// Derives `outputByteCount` bytes from `passphrase` and a 16-byte `salt`.
    public static func deriveKey(passphrase: String, salt: [UInt8], outputByteCount: Int = 32, cost: Cost = .interactive) throws(SodiumError) -> SecureBytes {
        SodiumLibrary.ensureInitialized()
        try SodiumError.checkLength(salt, saltByteCount, "an Argon2id salt")
        var status: Int32 = 0
        let utf8 = Array(passphrase.utf8CString)  // NUL-terminated, so never empty
        let key = SecureBytes(count: outputByteCount) { out in
            utf8.withUnsafeBufferPointer { pc in
                salt.withUnsafeBufferPointer { s in
                    status = crypto_pwhash(out.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(outputByteCount),
                                      pc.baseAddress!, UInt64(pc.count - 1), s.baseAddress!, cost.operations, cost.memoryBytes,
                                      crypto_pwhash_ALG_ARGON2ID13)
                }
            }
        }
        guard status == 0 else {
            throw SodiumError(.keyDerivationFailed, "Argon2id needs \(cost.memoryBytes >> 20) MiB of memory and could not get it")
        }
        return key
    }
}
