import Overlay
import Store
import Wire

/// The overlay's view of what this broker has delivered: the store's committed events plus those
/// released to the store and not yet committed (so that a peer's request in that window is not
/// answered with "pruned"). A store read that fails counts as "not held"; the overlay asks again.
struct StoreArchive: EventArchive {
    let store: BrokerStore
    /// Delivered events waiting for their commit, by ID.
    let uncommitted: [EventID: SignedEvent]

    func contains(topic: TopicID, id: EventID) -> Bool {
        uncommitted[id] != nil || ((try? store.contains(topic: topic, id: id)) ?? false)
    }

    func event(topic: TopicID, id: EventID) -> SignedEvent? {
        uncommitted[id] ?? (try? store.event(topic: topic, id: id)) ?? nil
    }

    func eventID(topic: TopicID, publisher: PeerID, sequence: UInt64) -> EventID? {
        if let pending = waiting(topic: topic, publisher: publisher).first(where: { $0.event.sequence == sequence }) { return pending.id }
        return (try? store.eventID(topic: topic, publisher: publisher, sequence: sequence)) ?? nil
    }

    func events(topic: TopicID, publisher: PeerID, from: UInt64, through: UInt64, limit: Int) -> [SignedEvent] {
        var result = (try? store.events(topic: topic, publisher: publisher, from: from, through: through, limit: limit)) ?? []
        let pending = waiting(topic: topic, publisher: publisher).filter { (from...through).contains($0.event.sequence) }
        guard !pending.isEmpty else { return result }
        let stored = Set(result.map(\.id))
        result += pending.filter { !stored.contains($0.id) }
        return Array(result.sorted { $0.event.sequence < $1.event.sequence }.prefix(limit))
    }

    func floor(topic: TopicID, publisher: PeerID) -> UInt64? {
        let stored = (try? store.floor(topic: topic, publisher: publisher)) ?? nil
        let pending = waiting(topic: topic, publisher: publisher).map(\.event.sequence).min()
        return [stored, pending].compactMap { $0 }.min()
    }

    private func waiting(topic: TopicID, publisher: PeerID) -> [SignedEvent] {
        guard !uncommitted.isEmpty else { return [] }
        return uncommitted.values.filter { $0.event.topic == topic && $0.event.publisher == publisher }
    }
}
