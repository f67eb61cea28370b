/// Where a new subscription starts reading a topic. A durable session that already exists resumes
/// after its acknowledged position instead.
public enum SubscriptionStart: Sendable, Equatable {
    /// Only events accepted from now on.
    case live
    /// Everything the broker still retains.
    case beginning
    /// From this topic position (the broker's per-topic counter, from 1) on.
    case position(UInt64)
    /// From the first event the broker accepted at or after this time, in milliseconds since the
    /// Unix epoch.
    case time(UInt64)

    enum Kind: UInt8 {
        case live = 0, beginning = 1, position = 2, time = 3
    }
}
