import CSodium

/// Secret bytes in guarded memory (`sodium_malloc`): locked, fenced and zeroed when freed.
/// Use for long-lived keys, not per message: an allocation costs tens of microseconds.
public final class SecureBytes: @unchecked Sendable {
    private let pointer: UnsafeMutableRawPointer
    public let count: Int

    /// Copies `bytes` into guarded memory.
    public init(_ bytes: some Collection<UInt8>) {
        SodiumLibrary.ensureInitialized()
        count = bytes.count
        guard let memory = sodium_malloc(max(count, 1)) else {
            preconditionFailure("sodium_malloc failed: out of memory")
        }
        pointer = memory
        var offset = 0
        for byte in bytes {
            pointer.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
            offset += 1
        }
    }

    /// Fresh random secret bytes.
    public convenience init(randomCount: Int) {
        var bytes = Random.bytes(randomCount)
        self.init(bytes)
        Memory.zero(&bytes)
    }

    /// Allocates `count` bytes and lets `fill` write them.
    init(count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        SodiumLibrary.ensureInitialized()
        self.count = count
        guard let memory = sodium_malloc(max(count, 1)) else {
            preconditionFailure("sodium_malloc failed: out of memory")
        }
        pointer = memory
        fill(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    deinit {
        sodium_free(pointer)
    }

    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// A copy in ordinary memory; the caller is responsible for zeroing it.
    public var unprotectedCopy: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// Compares in constant time.
    public func isEqual(to other: SecureBytes) -> Bool {
        count == other.count && sodium_memcmp(pointer, other.pointer, count) == 0
    }
}
