/// A token bucket: `rate` tokens a second, holding at most `burst`. Pure; the caller passes the time.
public struct TokenBucket: Sendable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var updated: UInt64

    /// A full bucket at `now` (monotonic nanoseconds).
    public init(rate: Double, burst: Double, now: UInt64) {
        self.rate = rate
        self.burst = max(burst, 1)
        tokens = self.burst
        updated = now
    }

    /// Takes one token if there is one; otherwise returns the seconds until there will be.
    public mutating func take(now: UInt64) -> Double? {
        refill(now: now)
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return (1 - tokens) / rate
    }

    /// Takes `count` tokens at once, going into debt when there are fewer: `take` then waits until
    /// the debt is paid. For work already done, such as messages a frame carried.
    public mutating func charge(_ count: Int, now: UInt64) {
        refill(now: now)
        tokens -= Double(count)
    }

    private mutating func refill(now: UInt64) {
        if now > updated {
            tokens = min(burst, tokens + Double(now - updated) / 1e9 * rate)
            updated = now
        }
    }
}
