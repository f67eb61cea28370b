/// A Prometheus-style histogram: counts of observations at or below each bound, their sum and
/// their number. Fixed bounds, so recording is a short scan and no allocation.
public struct Histogram: Sendable {
    /// Upper bounds of the buckets, ascending; a last `+Inf` bucket is implied.
    public let bounds: [Double]
    /// Observations per bucket (not cumulative); one more than `bounds`, for `+Inf`.
    public private(set) var counts: [UInt64]
    public private(set) var sum = 0.0
    public private(set) var count: UInt64 = 0

    public init(bounds: [Double]) {
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count + 1)
    }

    public mutating func record(_ value: Double) {
        var index = 0
        while index < bounds.count, value > bounds[index] { index += 1 }
        counts[index] += 1
        sum += value
        count += 1
    }

    /// Bounds for durations in seconds, 10 µs to 10 s.
    public static let secondsBounds: [Double] = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Bounds for batch sizes, 1 to 4096.
    public static let sizeBounds: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
}
