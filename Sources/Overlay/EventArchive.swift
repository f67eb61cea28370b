import Wire

/// Read access to the events a broker has delivered and still keeps (the broker's store, or the
/// simulator's memory). The overlay asks it to answer peers' requests and to learn whether a
/// dependency is already delivered; it never writes.
public protocol EventArchive {
    func contains(topic: TopicID, id: EventID) -> Bool
    func event(topic: TopicID, id: EventID) -> SignedEvent?
    func eventID(topic: TopicID, publisher: PeerID, sequence: UInt64) -> EventID?
    /// Kept events of `publisher` with sequences `from`…`through`, ascending, at most `limit`.
    func events(topic: TopicID, publisher: PeerID, from: UInt64, through: UInt64, limit: Int) -> [SignedEvent]
    /// The lowest sequence of `publisher` still kept on `topic`.
    func floor(topic: TopicID, publisher: PeerID) -> UInt64?
}

extension EventArchive {
    /// `events` with, after each chained event whose successor does not follow it in the list, the
    /// successors up to the signed event that ends its chain (protocol/README.md, §6.4): a chained
    /// event sent on its own cannot be authenticated by the peer that asked for it.
    func completingChains(_ events: [SignedEvent]) -> [SignedEvent] {
        var result: [SignedEvent] = []
        for (index, event) in events.enumerated() {
            result.append(event)
            guard event.isChained, !(index + 1 < events.count && events[index + 1].vouches(for: event)) else { continue }
            let tail = self.events(topic: event.event.topic, publisher: event.event.publisher, from: event.event.sequence + 1,
                                   through: event.event.sequence + UInt64(Limits.maximumChainLength), limit: Limits.maximumChainLength)
            for next in tail {
                result.append(next)
                if !next.isChained { break }
            }
        }
        return result
    }
}
