/// Why a broker refused a request (protocol/README.md, "Error codes").
public enum ErrorCode: UInt16, Sendable, CaseIterable {
    /// The frame or message could not be decoded; the connection closes.
    case malformedMessage = 1
    /// A frame's length prefix exceeds the limit; the connection closes.
    case frameTooLarge = 2
    /// A signature does not verify.
    case badSignature = 3
    /// The broker has no descriptor for the topic.
    case unknownTopic = 4
    /// The descriptor does not allow this identity to publish.
    case notAllowedToPublish = 5
    /// Only the topic's readers may subscribe.
    case notAReader = 6
    /// A descriptor is older than (or conflicts with) the one the broker holds.
    case staleDescriptor = 7
    /// The event's sequence number is not after the publisher's last one.
    case sequenceConflict = 8
    /// The event had already expired.
    case expired = 9
    /// The request is well-formed but not one this peer accepts.
    case unsupported = 10
    /// The client does not read fast enough; the connection closes.
    case slowConsumer = 11
    /// The broker cannot take more work now.
    case overloaded = 12
    /// The broker failed internally; the request may be retried.
    case internalError = 13
    /// The broker is shutting down.
    case shuttingDown = 14
    /// The broker's store is full; publishing is refused until space is freed. Reads go on.
    case storageFull = 15
    /// Another connection is attached to this durable session.
    case sessionInUse = 16
    /// The client sent nothing, not even a ping, for the broker's idle timeout.
    case idle = 17

    /// A short name for logs and CLI messages.
    public var name: String {
        switch self {
        case .malformedMessage: "malformed message"
        case .frameTooLarge: "frame too large"
        case .badSignature: "bad signature"
        case .unknownTopic: "unknown topic"
        case .notAllowedToPublish: "not allowed to publish"
        case .notAReader: "not a reader"
        case .staleDescriptor: "stale descriptor"
        case .sequenceConflict: "sequence conflict"
        case .expired: "expired"
        case .unsupported: "unsupported"
        case .slowConsumer: "slow consumer"
        case .overloaded: "overloaded"
        case .internalError: "internal error"
        case .shuttingDown: "shutting down"
        case .storageFull: "storage full"
        case .sessionInUse: "session in use"
        case .idle: "idle"
        }
    }

    /// The name as a metric label: `bad_signature`.
    public var metricLabel: String {
        String(name.map { $0 == " " ? "_" : $0 })
    }
}
