import Sodium

/// A Bloom filter with hashing fixed by the protocol (protocol/README.md, "Bloom filters"), so
/// that filters built by any implementation answer the same. Broker profiles carry one over their
/// topics; sync requests carry one over the events a broker holds but has not delivered yet.
public struct BloomFilter: Sendable, Equatable {
    /// The smallest and largest sizes, in bits; sizes are powers of two.
    public static let minimumBitCountLog2 = 6
    public static let maximumBitCountLog2 = 18
    public static let defaultHashCount = 7

    /// The two 64-bit hashes every bit index derives from; compute once per item and reuse.
    public struct Key: Hashable, Sendable {
        let first: UInt64
        let second: UInt64

        /// BLAKE2b-128 of the item: the first 8 bytes (big-endian) are h1, the next 8 (big-endian,
        /// lowest bit forced to 1) are h2.
        public init(_ item: [UInt8]) {
            let digest = BLAKE2b.hash(item, outputByteCount: 16)
            var h1: UInt64 = 0
            var h2: UInt64 = 0
            for index in 0..<8 {
                h1 = h1 << 8 | UInt64(digest[index])
                h2 = h2 << 8 | UInt64(digest[8 + index])
            }
            first = h1
            second = h2 | 1
        }

        /// Bit index `i` in a filter of `bitCount` bits: (h1 + i·h2) mod bitCount, in wrapping 64-bit arithmetic.
        @inline(__always)
        func index(_ i: Int, bitCount: Int) -> Int {
            Int((first &+ UInt64(i) &* second) & UInt64(bitCount - 1))
        }
    }

    public private(set) var bits: [UInt8]
    public let hashCount: Int
    public var bitCount: Int { bits.count * 8 }

    /// An empty filter of 2^`bitCountLog2` bits.
    public init(bitCountLog2: Int, hashCount: Int = BloomFilter.defaultHashCount) {
        precondition((Self.minimumBitCountLog2...Self.maximumBitCountLog2).contains(bitCountLog2) && (1...32).contains(hashCount))
        bits = [UInt8](repeating: 0, count: (1 << bitCountLog2) / 8)
        self.hashCount = hashCount
    }

    /// An empty filter sized for `itemCount` items at `bitsPerItem` bits each (rounded up to a
    /// power of two, within the protocol's bounds).
    public init(capacity itemCount: Int, bitsPerItem: Int = 16, hashCount: Int = BloomFilter.defaultHashCount) {
        let wanted = max(1, itemCount) * bitsPerItem
        var log2 = Self.minimumBitCountLog2
        while log2 < Self.maximumBitCountLog2 && 1 << log2 < wanted { log2 += 1 }
        self.init(bitCountLog2: log2, hashCount: hashCount)
    }

    public mutating func insert(_ key: Key) {
        let count = bitCount
        for i in 0..<hashCount {
            let bit = key.index(i, bitCount: count)
            bits[bit >> 3] |= 1 << UInt8(bit & 7)
        }
    }

    /// False means certainly not inserted; true means probably inserted.
    public func contains(_ key: Key) -> Bool {
        let count = bitCount
        for i in 0..<hashCount {
            let bit = key.index(i, bitCount: count)
            if bits[bit >> 3] & (1 << UInt8(bit & 7)) == 0 { return false }
        }
        return true
    }

    /// The same set in a smaller filter: halves OR-ed together, which works because indices are
    /// taken modulo a power of two.
    public func folded(toBitCount target: Int) -> BloomFilter {
        guard target < bitCount else { return self }
        var folded = bits
        while folded.count * 8 > target {
            let half = folded.count / 2
            folded = (0..<half).map { folded[$0] | folded[$0 + half] }
        }
        var result = self
        result.bits = folded
        return result
    }

    /// Set bits both filters share (after folding the larger): a cheap estimate of overlap, used
    /// to rank candidates for a peer whose topics are known only through its filter.
    public func sharedBitCount(with other: BloomFilter) -> Int {
        let size = min(bitCount, other.bitCount)
        let a = folded(toBitCount: size).bits
        let b = other.folded(toBitCount: size).bits
        var shared = 0
        for index in a.indices { shared += (a[index] & b[index]).nonzeroBitCount }
        return shared
    }

    /// `u8 log2(bit count)` ‖ `u8 hash count` ‖ bits (bit i is bit i mod 8, least significant first, of byte i / 8).
    public func encode(into writer: inout ByteWriter) {
        writer.u8(UInt8(bits.count.trailingZeroBitCount + 3))
        writer.u8(UInt8(hashCount))
        writer.raw(bits)
    }

    static func decode(_ reader: inout ByteReader, _ field: String) throws(WireError) -> BloomFilter {
        let log2 = Int(try reader.u8("\(field) size"))
        guard (minimumBitCountLog2...maximumBitCountLog2).contains(log2) else {
            throw WireError(.invalidValue, "\(field): 2^\(log2) bits is outside 2^\(minimumBitCountLog2)…2^\(maximumBitCountLog2)")
        }
        let hashCount = Int(try reader.u8("\(field) hash count"))
        guard (1...32).contains(hashCount) else { throw WireError(.invalidValue, "\(field): \(hashCount) hash functions, 1…32 allowed") }
        var filter = BloomFilter(bitCountLog2: log2, hashCount: hashCount)
        filter.bits = try reader.raw((1 << log2) / 8, "\(field) bits")
        return filter
    }
}
