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
