import Platform
import Testing

@Suite struct TokenBucketTests {
    let second: UInt64 = 1_000_000_000

    @Test func aFullBucketGivesItsBurstThenWaitsAtTheRate() {
        var bucket = TokenBucket(rate: 10, burst: 3, now: 0)
        for _ in 0..<3 { #expect(bucket.take(now: 0) == nil) }
        #expect(bucket.take(now: 0) == 0.1)
        #expect(bucket.take(now: second / 10) == nil)
        // Refilling stops at the burst.
        for _ in 0..<3 { #expect(bucket.take(now: 10 * second) == nil) }
        #expect(bucket.take(now: 10 * second) != nil)
    }

    /// A batch's messages are charged at once: the debt delays what comes next.
    @Test func chargingGoesIntoDebtThatLaterTakesWaitOut() {
        var bucket = TokenBucket(rate: 10, burst: 5, now: 0)
        #expect(bucket.take(now: 0) == nil)
        bucket.charge(24, now: 0)  // 5 - 1 - 24 = -20 tokens
        let wait = bucket.take(now: 0)!
        #expect(abs(wait - 2.1) < 1e-9)
        #expect(bucket.take(now: 2 * second) != nil)
        #expect(bucket.take(now: 2 * second + second / 10) == nil)
    }
}
