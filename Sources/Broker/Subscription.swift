import Store
import Wire

/// One client's subscription to one topic, durable or for this connection only. It is either live
/// (each committed event is pushed to it) or catching up (it reads the store from `nextPosition`
/// whenever its connection's output drains), so a slow reader costs a position, not memory.
final class Subscription {
    let number: UInt64
    let topic: TopicState
    unowned let session: EdgeSession
    /// The durable session this subscription is attached to, if any.
    let durableKey: SessionKey?
    /// The next position to send.
    var nextPosition: UInt64
    /// The last position the client acknowledged (the durable cursor moves with it over committed positions).
    var acknowledged: UInt64
    /// The last position sent (0: none yet).
    var lastSent: UInt64 = 0
    var isLive = false
    /// Whether deliveries have begun (a durable session starts once its record is committed).
    var isActive = false
    /// Drops to tell the client about before its next delivery.
    var pendingDrops: [(DropReason, UInt64)] = []

    init(number: UInt64, topic: TopicState, session: EdgeSession, durableKey: SessionKey?, nextPosition: UInt64, acknowledged: UInt64) {
        self.number = number
        self.topic = topic
        self.session = session
        self.durableKey = durableKey
        self.nextPosition = nextPosition
        self.acknowledged = acknowledged
    }

    var topicID: TopicID { topic.descriptor.descriptor.topic }

    func noteDropped(_ count: UInt64, reason: DropReason) {
        guard count > 0 else { return }
        if let index = pendingDrops.firstIndex(where: { $0.0 == reason }) { pendingDrops[index].1 += count } else { pendingDrops.append((reason, count)) }
    }
}
