import Sodium
import Store
import Wire

/// What the broker's loop knows of one topic, as committed to the store: its descriptor, its log
/// of positions, each publisher's head; the events on their way to the store; and who is
/// subscribed right now.
final class TopicState {
    var descriptor: SignedTopicDescriptor
    /// The committed log.
    var log: TopicLog
    var heads: [SigningPublicKey: PublisherHead] = [:]
    /// Events handed to the store, not yet committed, with the positions they are expected to get.
    var appends = UncommittedAppends()
    /// Durable sessions whose client acknowledged positions not yet committed, with the position
    /// acknowledged: their cursors move on as the commits arrive, even after the client has gone.
    var acknowledgedAhead: [SessionKey: UInt64] = [:]
    /// Subscriptions that are caught up and get each new event as it is handed to the store.
    var liveSubscriptions: [UInt64: Subscription] = [:]
    /// Every subscription on the topic, live or catching up.
    var subscriptions: [UInt64: Subscription] = [:]

    init(descriptor: SignedTopicDescriptor, log: TopicLog = TopicLog()) {
        self.descriptor = descriptor
        self.log = log
    }
}

/// All topics the broker serves.
struct TopicTable {
    private(set) var topics: [TopicID: TopicState] = [:]

    init(contents: BrokerStore.Contents) {
        for (topic, descriptor) in contents.descriptors {
            topics[topic] = TopicState(descriptor: descriptor, log: contents.logs[topic] ?? TopicLog())
        }
        for (key, head) in contents.heads { topics[key.topic]?.heads[key.publisher] = head }
    }

    subscript(topic: TopicID) -> TopicState? { topics[topic] }

    var all: Dictionary<TopicID, TopicState>.Values { topics.values }

    /// Takes a descriptor the store has committed.
    mutating func stored(_ descriptor: SignedTopicDescriptor) {
        if let state = topics[descriptor.descriptor.topic] {
            state.descriptor = descriptor
        } else {
            topics[descriptor.descriptor.topic] = TopicState(descriptor: descriptor)
        }
    }
}
