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
    /// event sent on its own cannot be authenticated by the peer that asked for it. Each event
    /// goes once, and a tail that reaches an event already going stops there: what follows that
    /// one is already on its way.
    func completingChains(_ events: [SignedEvent]) -> [SignedEvent] {
        var result: [SignedEvent] = []
        result.reserveCapacity(events.count)
        var going = Set<EventID>()
        for (index, event) in events.enumerated() where going.insert(event.id).inserted {
            result.append(event)
            guard event.isChained, !(index + 1 < events.count && events[index + 1].vouches(for: event)) else { continue }
            appendChainTail(after: event, to: &result, going: &going)
        }
        return result
    }

    /// Appends the kept successors of chained `event` up to its chain's signed end, read a few at
    /// a time so that a short chain costs a short read; stops at a gap (nothing behind it can
    /// vouch for `event`) and at an event already going.
    private func appendChainTail(after event: SignedEvent, to result: inout [SignedEvent], going: inout Set<EventID>) {
        let page: UInt64 = 16
        var next = event.event.sequence + 1
        let last = event.event.sequence + UInt64(Limits.maximumChainLength)
        while next <= last {
            let through = min(last, next + page - 1)
            let read = events(topic: event.event.topic, publisher: event.event.publisher, from: next, through: through, limit: Int(page))
            for successor in read {
                guard successor.event.sequence == next, going.insert(successor.id).inserted else { return }
                result.append(successor)
                if !successor.isChained { return }
                next += 1
            }
            guard next > through else { return }  // fewer than asked for: the kept events end here
        }
    }
}
