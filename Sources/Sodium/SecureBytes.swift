import CSodium

/// Secret bytes, zeroed when freed. Long-lived keys live in guarded memory (`sodium_malloc`:
/// locked and fenced by guard pages); per-connection keys live on the ordinary heap, because each
/// guarded allocation costs tens of microseconds and three memory mappings, and ten thousand
/// connections would exhaust the kernel's mapping limit (`vm.max_map_count`).
public final class SecureBytes: @unchecked Sendable {
    /// Where the bytes live.
    public enum Placement: Sendable {
        /// Guarded pages, for keys that live as long as the process: identities, topic keys.
        case guarded
        /// The heap, for short-lived keys made per connection: Noise handshake and transport keys.
        case heap
    }

    private let pointer: UnsafeMutableRawPointer
    private let placement: Placement
    public let count: Int

    /// Copies `bytes` into memory of the given placement.
    public convenience init(_ bytes: some Collection<UInt8>, placement: Placement = .guarded) {
        self.init(count: bytes.count, placement: placement) { buffer in
            for (offset, byte) in bytes.enumerated() { buffer[offset] = byte }
        }
    }

    /// Fresh random secret bytes.
    public convenience init(randomCount: Int, placement: Placement = .guarded) {
        self.init(count: randomCount, placement: placement) { buffer in
            randombytes_buf(buffer.baseAddress!, buffer.count)
        }
    }

    /// Allocates `count` bytes and lets `fill` write them.
    init(count: Int, placement: Placement = .guarded, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        SodiumLibrary.ensureInitialized()
        self.count = count
        self.placement = placement
        switch placement {
        case .guarded:
            // sodium_malloc fails only when the process cannot map memory at all.
            guard let memory = sodium_malloc(max(count, 1)) else { preconditionFailure("sodium_malloc failed: out of memory") }
            pointer = memory
        case .heap:
            pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
        }
        fill(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    deinit {
        switch placement {
        case .guarded:
            sodium_free(pointer)
        case .heap:
            sodium_memzero(pointer, max(count, 1))
            pointer.deallocate()
        }
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
