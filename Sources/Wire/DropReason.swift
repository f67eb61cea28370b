/// Why events were dropped before a subscriber received them (protocol/README.md, "dropped").
/// Brokers never drop silently: the subscriber is told the reason and the count.
public enum DropReason: UInt8, Sendable, CaseIterable {
    /// The events' own expiry time passed.
    case expired = 1
    /// The topic's retention limit on the number of events.
    case retentionCount = 2
    /// The topic's retention limit on stored bytes.
    case retentionBytes = 3
    /// The topic's retention limit on age.
    case retentionAge = 4
    /// The durable session had more events waiting than its quota allows.
    case sessionQuota = 5
    /// The durable session was abandoned for longer than the broker keeps sessions.
    case sessionExpired = 6

    /// A short name for logs and CLI messages.
    public var name: String {
        switch self {
        case .expired: "expired"
        case .retentionCount: "retention (event count)"
        case .retentionBytes: "retention (bytes)"
        case .retentionAge: "retention (age)"
        case .sessionQuota: "session quota"
        case .sessionExpired: "session expired"
        }
    }

    /// The reason as a metric label: `retention_count`.
    public var metricLabel: String {
        switch self {
        case .expired: "expired"
        case .retentionCount: "retention_count"
        case .retentionBytes: "retention_bytes"
        case .retentionAge: "retention_age"
        case .sessionQuota: "session_quota"
        case .sessionExpired: "session_expired"
        }
    }
}
