/// Thirty-two bytes held inline: no heap allocation, no reference counting, and hashing and
/// comparison a few word operations. Public keys and event IDs are this size, and the broker
/// copies, hashes and compares them several times per event.
public struct Bytes32: Hashable, Sendable, Comparable, BitwiseCopyable {
    public static let count = 32

    // The bytes in memory order (each word as loaded from memory, not as a number).
    // Inlinable members: other modules hash, compare and copy keys on every event.
    @usableFromInline var word0: UInt64 = 0, word1: UInt64 = 0, word2: UInt64 = 0, word3: UInt64 = 0

    /// All zero.
    @inlinable public init() {}

    /// Copies exactly 32 bytes; nil for any other count.
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == Self.count else { return nil }
        self.init()
        let copied: Void? = bytes.withContiguousStorageIfAvailable { copyBytes(from: UnsafeRawBufferPointer($0)) }
        if copied == nil { Array(bytes).withUnsafeBytes { copyBytes(from: $0) } }
    }

    /// Copies the first 32 bytes of `buffer`, which must hold at least that many.
    @inlinable public init(copying buffer: UnsafeRawBufferPointer) {
        precondition(buffer.count >= Self.count, "Bytes32 needs 32 bytes, got \(buffer.count)")
        self = buffer.loadUnaligned(as: Bytes32.self)
    }

    /// Fills the 32 bytes by calling `fill` with a buffer to write them into.
    public init(filling fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        self.init()
        try withUnsafeMutableBytes(of: &self) { try fill($0) }
    }

    private mutating func copyBytes(from buffer: UnsafeRawBufferPointer) {
        withUnsafeMutableBytes(of: &self) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[..<Self.count])) }
    }

    /// The bytes as an array (allocates: for encoding outside hot paths).
    public var array: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Calls `body` with the 32 bytes.
    @inlinable public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try Swift.withUnsafeBytes(of: self) { (buffer) throws(E) -> R in try body(buffer) }
    }

    /// Whether the bytes equal `other`'s, for stored keys compared without copying them out.
    public func elementsEqual(_ other: UnsafeRawBufferPointer) -> Bool {
        other.count == Self.count && withUnsafeBytes { $0.elementsEqual(other) }
    }

    /// Hashes all four words (a publisher chooses the dependency IDs it lists, so keys sharing
    /// a prefix must not share a hash) with an inlined SipHash-1-3 under the process's key.
    @inlinable public func hash(into hasher: inout Hasher) {
        hasher.combine(SipHash13.hash(word0, word1, word2, word3, seed: 0))
    }

    /// What `Dictionary` and `Set` call instead of `hash(into:)`: the same function as `Hasher`,
    /// without its four calls and buffering.
    @inlinable public func _rawHashValue(seed: Int) -> Int {
        Int(truncatingIfNeeded: SipHash13.hash(word0, word1, word2, word3, seed: UInt64(UInt(bitPattern: seed))))
    }

    @inlinable public static func == (a: Bytes32, b: Bytes32) -> Bool {
        a.word0 == b.word0 && a.word1 == b.word1 && a.word2 == b.word2 && a.word3 == b.word3
    }

    /// Byte-wise lexicographic order (as `[UInt8].lexicographicallyPrecedes`).
    @inlinable public static func < (a: Bytes32, b: Bytes32) -> Bool {
        (a.word0.bigEndian, a.word1.bigEndian, a.word2.bigEndian, a.word3.bigEndian)
            < (b.word0.bigEndian, b.word1.bigEndian, b.word2.bigEndian, b.word3.bigEndian)
    }
}
