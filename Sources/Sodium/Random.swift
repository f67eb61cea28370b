import CSodium

/// Cryptographically secure randomness from the operating system.
public enum Random {
    /// `count` random bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        SodiumLibrary.ensureInitialized()
        var bytes = [UInt8](repeating: 0, count: count)
        if count > 0 {
            bytes.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
        }
        return bytes
    }

    /// A uniformly distributed integer in `0..<upperBound`.
    public static func uniform(_ upperBound: UInt32) -> UInt32 {
        SodiumLibrary.ensureInitialized()
        return randombytes_uniform(upperBound)
    }

    /// A random 64-bit integer.
    public static func uint64() -> UInt64 {
        bytes(8).reduce(0) { $0 << 8 | UInt64($1) }
    }
}
