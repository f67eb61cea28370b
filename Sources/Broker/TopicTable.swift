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
    /// Whether the broker takes part in the topic's overlay: a local client put, subscribed to or
    /// published on it, or the store holds its events or durable sessions (`Broker.serve`).
    var isServed = false

    init(descriptor: SignedTopicDescriptor, log: TopicLog = TopicLog()) {
        self.descriptor = descriptor
        self.log = log
    }
}

/// All topics the broker holds a descriptor for. A class, so that its cache of the topic looked
/// up last is its own: a publisher's event looks its topic up several times on its way (admission
/// before and after its signature check, serving, the hand-off to the store, the answer), and
/// comparing 32 bytes costs a tenth of hashing them.
final class TopicTable {
    private var topics: [TopicID: TopicState] = [:]
    private var recent: TopicState?

    init(contents: BrokerStore.Contents) {
        for (topic, descriptor) in contents.descriptors {
            topics[topic] = TopicState(descriptor: descriptor, log: contents.logs[topic] ?? TopicLog())
        }
        for (key, head) in contents.heads { topics[key.topic]?.heads[key.publisher] = head }
        for topic in contents.logs.keys { topics[topic]?.isServed = true }
        for key in contents.sessions.keys { topics[key.topic]?.isServed = true }
    }

    subscript(topic: TopicID) -> TopicState? {
        if let recent, recent.descriptor.descriptor.topic == topic { return recent }
        let state = topics[topic]
        if let state { recent = state }
        return state
    }

    var all: Dictionary<TopicID, TopicState>.Values { topics.values }

    /// The topics the broker takes part in within the overlay (`TopicState.isServed`).
    var served: Set<TopicID> { Set(topics.values.lazy.filter(\.isServed).map(\.descriptor.descriptor.topic)) }

    /// Takes a descriptor the store has committed.
    func stored(_ descriptor: SignedTopicDescriptor) {
        if let state = topics[descriptor.descriptor.topic] {
            state.descriptor = descriptor
        } else {
            topics[descriptor.descriptor.topic] = TopicState(descriptor: descriptor)
        }
    }
}
