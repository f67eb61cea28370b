import Wire

/// What a subscription hands to the application, in order.
public enum SubscriptionMessage: Sendable {
    /// An event (signature checked unless disabled) at its position in the broker's topic log.
    /// Acknowledge the position once it is processed.
    case event(SignedEvent, position: UInt64)
    /// The broker dropped `count` events before the next one, for `reason`.
    case dropped(DropReason, count: UInt64)
}

/// A subscription to one topic: the messages it yields end when the connection does.
public struct Subscription: AsyncSequence, Sendable {
    public typealias Element = SubscriptionMessage

    public let topic: TopicID
    /// Whether an existing durable session was resumed (false for a new one or a plain subscription).
    public let resumed: Bool
    /// The position delivery starts from.
    public let position: UInt64
    let messages: AsyncStream<SubscriptionMessage>

    public func makeAsyncIterator() -> AsyncStream<SubscriptionMessage>.Iterator {
        messages.makeAsyncIterator()
    }
}

/// Remembers the most recent event IDs so that an event delivered twice (at-least-once delivery
/// after a crash or a resumed session) reaches the application once.
struct DuplicateFilter {
    private var seen: Set<EventID> = []
    private var order: [EventID] = []
    private var oldest = 0
    let capacity: Int

    init(capacity: Int = 65_536) {
        self.capacity = capacity
    }

    /// Returns false if `id` was seen already; otherwise remembers it.
    mutating func admit(_ id: EventID) -> Bool {
        guard seen.insert(id).inserted else { return false }
        if order.count < capacity {
            order.append(id)
        } else {
            seen.remove(order[oldest])
            order[oldest] = id
            oldest = (oldest + 1) % capacity
        }
        return true
    }
}
