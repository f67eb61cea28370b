import CSodium

/// BLAKE2b hashing, plain and keyed, one-shot or streaming.
public enum BLAKE2b {
    public static let maximumOutputByteCount = Int(crypto_generichash_blake2b_BYTES_MAX)
    public static let maximumKeyByteCount = Int(crypto_generichash_blake2b_KEYBYTES_MAX)

    /// The hash of `data` with `outputByteCount` bytes (1...64), keyed when `key` is given.
    public static func hash(_ data: UnsafeRawBufferPointer, outputByteCount: Int = 32, key: [UInt8] = []) -> [UInt8] {
        SodiumLibrary.ensureInitialized()
        precondition((1...maximumOutputByteCount).contains(outputByteCount) && key.count <= maximumKeyByteCount)
        var out = [UInt8](repeating: 0, count: outputByteCount)
        out.withUnsafeMutableBufferPointer { o in
            key.withUnsafeBufferPointer { k in
                _ = crypto_generichash_blake2b(o.baseAddress!, outputByteCount, data.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                               UInt64(data.count), k.baseAddress, k.count)
            }
        }
        return out
    }

    /// The unkeyed 32-byte hash of `data`, inline (no allocation).
    public static func hash32(_ data: UnsafeRawBufferPointer) -> Bytes32 {
        SodiumLibrary.ensureInitialized()
        return Bytes32 { out in
            _ = crypto_generichash_blake2b(out.baseAddress!.assumingMemoryBound(to: UInt8.self), Bytes32.count,
                                           data.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(data.count), nil, 0)
        }
    }

    public static func hash(_ data: [UInt8], outputByteCount: Int = 32, key: [UInt8] = []) -> [UInt8] {
        data.withUnsafeBytes { hash($0, outputByteCount: outputByteCount, key: key) }
    }

    /// Streams input into one hash: `feed` gets an `update` function to call with each piece, in
    /// order. The state lives on the stack for the call and is zeroed afterwards: on the heap it
    /// would need a 64-byte-aligned allocation, which splits the heap around it.
    public static func hash(outputByteCount: Int = 32, key: [UInt8] = [],
                            streaming feed: (_ update: (UnsafeRawBufferPointer) -> Void) -> Void) -> [UInt8] {
        SodiumLibrary.ensureInitialized()
        precondition((1...maximumOutputByteCount).contains(outputByteCount) && key.count <= maximumKeyByteCount)
        // Swift allocates on the stack only up to 16-byte alignment: take 48 bytes more and align by hand.
        return withUnsafeTemporaryAllocation(byteCount: polder_blake2b_state_size() + 48, alignment: 16) { space in
            let state = space.baseAddress!.alignedUp(toMultipleOf: 64)
            key.withUnsafeBufferPointer { k in _ = polder_blake2b_init(state, k.baseAddress, k.count, outputByteCount) }
            feed { data in _ = polder_blake2b_update(state, data.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(data.count)) }
            var out = [UInt8](repeating: 0, count: outputByteCount)
            out.withUnsafeMutableBufferPointer { _ = polder_blake2b_final(state, $0.baseAddress!, outputByteCount) }
            sodium_memzero(state, polder_blake2b_state_size())
            return out
        }
    }
}
