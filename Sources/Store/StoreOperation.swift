import Wire

/// A change for the store's writer. Operations submitted together or while a commit runs share
/// one transaction (group commit); each ticketed operation gets a `StoreResult` once it is durable.
public enum StoreOperation: Sendable {
    /// Appends an event whose signature and admission the broker has checked; the store applies
    /// the publisher's sequence rule and assigns the topic position.
    case append(SignedEvent, ticket: UInt64)
    /// Stores a descriptor (signature checked) if it may replace the one held.
    case putDescriptor(SignedTopicDescriptor, ticket: UInt64)
    case putSession(SessionKey, SessionRecord, ticket: UInt64)
    case deleteSession(SessionKey, ticket: UInt64)
    /// Applies retention and event expiry to every topic.
    case prune
    /// Replaces the remembered peers (profiles of the broker's neighbours).
    case rememberPeers([SignedBrokerProfile])

    var ticket: UInt64? {
        switch self {
        case .append(_, let ticket), .putDescriptor(_, let ticket), .putSession(_, _, let ticket), .deleteSession(_, let ticket): ticket
        case .prune, .rememberPeers: nil
        }
    }

    /// Whether the operation adds data (refused when the store is full; cursors and pruning are not).
    var addsData: Bool {
        switch self {
        case .append, .putDescriptor: true
        case .putSession, .deleteSession, .prune, .rememberPeers: false
        }
    }

    var size: Int {
        switch self {
        case .append(let event, _): event.encoded.count
        case .putDescriptor(let descriptor, _): descriptor.body.count
        default: 64
        }
    }
}

/// What became of one ticketed operation.
public enum StoreResult: Sendable {
    /// The event is durable at this position.
    case appended(position: UInt64, arrival: UInt64)
    /// The event is the publisher's last one, already stored: acknowledge again.
    case duplicate
    /// The event's sequence is not after the publisher's last.
    case sequenceConflict(PublisherHead)
    /// The descriptor or session change is durable.
    case stored
    /// The held descriptor has a higher revision (or the same revision with other content).
    case staleDescriptor(held: UInt64)
    /// Nothing of the operation was stored.
    case failed(StoreError)
}

/// The result of one commit, handed to the broker's loop.
public struct CommitOutcome: Sendable {
    public var results: [(ticket: UInt64, result: StoreResult)] = []
    /// The topics whose logs changed, as now committed.
    public var logs: [TopicID: TopicLog] = [:]
    /// Events removed by retention or expiry in this commit.
    public var pruned: [DropReason: UInt64] = [:]
    /// Operations in the transaction, and how long the commit (with fsync) took.
    public var batchSize = 0
    public var commitNanoseconds: UInt64 = 0
    /// Set when new data was refused for lack of space (map at its maximum or disk full).
    public var storageFull: StoreError?
    /// What the transaction changes in the in-memory ID index, applied once it is committed.
    var idChanges: [EventIDIndex.Change] = []
}
