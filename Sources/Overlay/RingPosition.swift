import Sodium
import Wire

/// A broker's place on a topic's ring: BLAKE2b-256(topic ‖ broker key) read as a 256-bit
/// big-endian number, so no broker can choose where it stands.
public struct RingPosition: Hashable, Sendable, Comparable {
    /// Most significant limb first.
    let limbs: (UInt64, UInt64, UInt64, UInt64)

    public init(topic: TopicID, broker: PeerID) {
        let digest = BLAKE2b.hash(topic.bytes + broker.bytes, outputByteCount: 32)
        func limb(_ index: Int) -> UInt64 {
            var value: UInt64 = 0
            for byte in digest[(index * 8)..<(index * 8 + 8)] { value = value << 8 | UInt64(byte) }
            return value
        }
        limbs = (limb(0), limb(1), limb(2), limb(3))
    }

    private init(limbs: (UInt64, UInt64, UInt64, UInt64)) {
        self.limbs = limbs
    }

    /// How far `other` lies clockwise from here: (other − self) mod 2^256.
    public func distance(clockwiseTo other: RingPosition) -> RingPosition {
        var borrow: UInt64 = 0
        func subtract(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let (d1, o1) = a.subtractingReportingOverflow(b)
            let (d2, o2) = d1.subtractingReportingOverflow(borrow)
            borrow = (o1 || o2) ? 1 : 0
            return d2
        }
        let l3 = subtract(other.limbs.3, limbs.3)
        let l2 = subtract(other.limbs.2, limbs.2)
        let l1 = subtract(other.limbs.1, limbs.1)
        let l0 = subtract(other.limbs.0, limbs.0)
        return RingPosition(limbs: (l0, l1, l2, l3))
    }

    public static func == (a: RingPosition, b: RingPosition) -> Bool { a.limbs == b.limbs }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(limbs.0)
        hasher.combine(limbs.1)
        hasher.combine(limbs.2)
        hasher.combine(limbs.3)
    }

    public static func < (a: RingPosition, b: RingPosition) -> Bool { a.limbs < b.limbs }

    /// The first 16 hex digits, for logs.
    public var shortDescription: String { Hex.encode((0..<8).map { UInt8(truncatingIfNeeded: limbs.0 >> UInt64(56 - $0 * 8)) }) }
}
