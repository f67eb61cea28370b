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
    /// `events` in sequence order per publisher with, after each chained event whose successor does
    /// not follow it, the successors up to the signed event that ends its chain (protocol/README.md,
    /// §6.4): a chained event sent on its own cannot be authenticated by the peer that asked for it.
    /// Each event goes once, and a tail that reaches an event already going stops there: what
    /// follows that one is already on its way, after it.
    func completingChains(_ listed: [SignedEvent]) -> [SignedEvent] {
        let events = Self.inSequenceOrder(listed)
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

    /// `events` grouped by topic and publisher (in order of first appearance), each group ascending
    /// by sequence: a tail then never reaches back to an event sent before it. Usually already so.
    private static func inSequenceOrder(_ events: [SignedEvent]) -> [SignedEvent] {
        let ordered = zip(events, events.dropFirst()).allSatisfy { earlier, later in
            earlier.event.topic != later.event.topic || earlier.event.publisher != later.event.publisher
                || earlier.event.sequence < later.event.sequence
        }
        guard !ordered else { return events }
        var groups: [PublisherStream: Int] = [:]
        let keyed = events.map { event in
            let stream = PublisherStream(event)
            let group = groups[stream] ?? groups.count
            groups[stream] = group
            return (group: group, sequence: event.event.sequence, event: event)
        }
        return keyed.sorted { ($0.group, $0.sequence) < ($1.group, $1.sequence) }.map(\.event)
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

/// One publisher's events on one topic.
private struct PublisherStream: Hashable {
    let topic: TopicID
    let publisher: PeerID

    init(_ event: SignedEvent) {
        topic = event.event.topic
        publisher = event.event.publisher
    }
}
