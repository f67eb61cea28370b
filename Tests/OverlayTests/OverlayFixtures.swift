import Overlay
import Sodium
import Wire

/// A broker's keys and signed profile for tests.
struct TestBroker {
    let keys = SigningKeyPair()
    let topics: [TopicID]
    let profile: SignedBrokerProfile

    init(topics: [TopicID] = [], issued: UInt64 = 1) {
        self.topics = topics
        profile = BrokerProfile(broker: keys.publicKey, issued: issued, address: "127.0.0.1:1",
                                topics: BrokerProfile.topicFilter(topics.map { BloomFilter.Key($0.bytes) })).signed(by: keys)
    }

    var id: PeerID { keys.publicKey }
    var entry: ViewEntry { ViewEntry(profile: profile) }
}

func newTopic() -> TopicID { SigningKeyPair().publicKey }

/// An archive in memory, filled by whatever the test delivers.
final class MemoryArchive: EventArchive {
    var events: [SignedEvent] = []
    /// Events handed out by `events(topic:publisher:from:through:limit:)`, to bound what an answer reads.
    var eventsRead = 0

    func contains(topic: TopicID, id: EventID) -> Bool { events.contains { $0.id == id } }
    func event(topic: TopicID, id: EventID) -> SignedEvent? { events.first { $0.id == id } }
    func eventID(topic: TopicID, publisher: PeerID, sequence: UInt64) -> EventID? {
        events.first { $0.event.topic == topic && $0.event.publisher == publisher && $0.event.sequence == sequence }?.id
    }
    func events(topic: TopicID, publisher: PeerID, from: UInt64, through: UInt64, limit: Int) -> [SignedEvent] {
        let found = Array(events.filter { $0.event.topic == topic && $0.event.publisher == publisher && (from...through).contains($0.event.sequence) }
            .sorted { $0.event.sequence < $1.event.sequence }.prefix(limit))
        eventsRead += found.count
        return found
    }
    func floor(topic: TopicID, publisher: PeerID) -> UInt64? {
        events.filter { $0.event.topic == topic && $0.event.publisher == publisher }.map(\.event.sequence).min()
    }
}

/// Signs events of one publisher on one topic in sequence.
struct TestPublisher {
    let keys = SigningKeyPair()
    let topic: TopicID
    var sequence: UInt64 = 0

    mutating func next(dependencies: [EventID] = [], payload: UInt8 = 0) -> SignedEvent {
        sequence += 1
        return Event(topic: topic, publisher: keys.publicKey, sequence: sequence, dependencies: dependencies, time: 0, epoch: 1,
                     payload: [payload]).signed(by: keys)
    }
}
