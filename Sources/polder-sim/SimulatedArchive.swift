import Overlay
import Wire

/// One simulated broker's delivered events, in memory: what its store would hold.
final class SimulatedArchive: EventArchive {
    private var byPublisher: [TopicID: [PeerID: (floor: UInt64, events: [SignedEvent])]] = [:]
    private var byID: [EventID: SignedEvent] = [:]

    func append(_ event: SignedEvent) {
        let topic = event.event.topic
        let publisher = event.event.publisher
        var entry = byPublisher[topic]?[publisher] ?? (floor: event.event.sequence, events: [])
        // After a skip, keep only the contiguous run that ends here.
        if entry.floor + UInt64(entry.events.count) != event.event.sequence { entry = (event.event.sequence, []) }
        entry.events.append(event)
        byPublisher[topic, default: [:]][publisher] = entry
        byID[event.id] = event
    }

    func contains(topic: TopicID, id: EventID) -> Bool { byID[id] != nil }

    func event(topic: TopicID, id: EventID) -> SignedEvent? { byID[id] }

    func eventID(topic: TopicID, publisher: PeerID, sequence: UInt64) -> EventID? {
        guard let entry = byPublisher[topic]?[publisher], sequence >= entry.floor,
              sequence < entry.floor + UInt64(entry.events.count) else { return nil }
        return entry.events[Int(sequence - entry.floor)].id
    }

    func events(topic: TopicID, publisher: PeerID, from: UInt64, through: UInt64, limit: Int) -> [SignedEvent] {
        guard let entry = byPublisher[topic]?[publisher], !entry.events.isEmpty else { return [] }
        let last = entry.floor + UInt64(entry.events.count) - 1
        let start = max(from, entry.floor)
        let end = min(through, last)
        guard start <= end else { return [] }
        let slice = entry.events[Int(start - entry.floor)...Int(end - entry.floor)]
        return Array(slice.prefix(limit))
    }

    func floor(topic: TopicID, publisher: PeerID) -> UInt64? {
        byPublisher[topic]?[publisher].flatMap { $0.events.isEmpty ? nil : $0.floor }
    }
}
