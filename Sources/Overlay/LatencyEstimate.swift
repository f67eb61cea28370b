/// Round-trip times measured on overlay exchanges, and the repair delay derived from them:
/// missing events are requested only after 3 × the 95th percentile round trip, so that events
/// still on their way are not fetched twice (REFERENCES.md: 2–3 × p95).
public struct LatencyEstimate: Sendable {
    private var samples: [UInt64] = []
    private var next = 0
    private let capacity = 128

    public init() {}

    public mutating func record(roundTripMilliseconds: UInt64) {
        if samples.count < capacity {
            samples.append(roundTripMilliseconds)
        } else {
            samples[next] = roundTripMilliseconds
            next = (next + 1) % capacity
        }
    }

    /// The 95th percentile round trip, if any was measured.
    public var p95: UInt64? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        return sorted[min(sorted.count - 1, sorted.count * 95 / 100)]
    }

    /// The delay before the first request for a missing event, within `bounds`; 200 ms (or the
    /// bound) before anything was measured.
    public func repairDelay(bounds: ClosedRange<UInt64>) -> UInt64 {
        min(max((p95.map { $0 * 3 }) ?? 200, bounds.lowerBound), bounds.upperBound)
    }
}
