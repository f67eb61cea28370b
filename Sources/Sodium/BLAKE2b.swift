import CSodium
#if canImport(Glibc)
import Glibc
#endif

/// BLAKE2b hashing, plain and keyed, one-shot or streaming.
public final class BLAKE2b {
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

    private let state: UnsafeMutableRawPointer
    private let outputByteCount: Int
    private var finished = false

    /// A streaming hasher; feed it with `update` and read the result once with `finalize`.
    public init(outputByteCount: Int = 32, key: [UInt8] = []) {
        SodiumLibrary.ensureInitialized()
        precondition((1...Self.maximumOutputByteCount).contains(outputByteCount) && key.count <= Self.maximumKeyByteCount)
        // The state must be 64-byte aligned; Swift's allocator does not promise that.
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, polder_blake2b_state_size()) == 0, let raw else {
            preconditionFailure("posix_memalign failed: out of memory")
        }
        state = raw
        self.outputByteCount = outputByteCount
        key.withUnsafeBufferPointer { k in
            _ = polder_blake2b_init(state, k.baseAddress, k.count, outputByteCount)
        }
    }

    deinit {
        sodium_memzero(state, polder_blake2b_state_size())
        free(state)
    }

    public func update(_ data: UnsafeRawBufferPointer) {
        precondition(!finished, "BLAKE2b hasher used after finalize")
        _ = polder_blake2b_update(state, data.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(data.count))
    }

    public func update(_ data: [UInt8]) {
        data.withUnsafeBytes { update($0) }
    }

    public func finalize() -> [UInt8] {
        precondition(!finished, "BLAKE2b hasher finalized twice")
        finished = true
        var out = [UInt8](repeating: 0, count: outputByteCount)
        out.withUnsafeMutableBufferPointer { _ = polder_blake2b_final(state, $0.baseAddress!, outputByteCount) }
        return out
    }
}
