/// A deterministic random source (SplitMix64): the broker seeds it from the system's randomness,
/// the simulator and the tests from a number, so that a run can be repeated exactly.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Array {
    /// Up to `count` distinct elements in random order.
    public func randomSample(_ count: Int, using random: inout SeededRandom) -> [Element] {
        guard count < self.count else { return shuffled(using: &random) }
        var copy = self
        for index in 0..<count {
            copy.swapAt(index, Int.random(in: index..<copy.count, using: &random))
        }
        return Array(copy[..<count])
    }
}
