import Sodium
import Wire

/// What the broker knows of one topic: its descriptor, who is subscribed, and each publisher's head.
final class TopicState {
    var descriptor: SignedTopicDescriptor
    var subscribers: Set<ObjectIdentifier> = []
    var heads: [SigningPublicKey: PublisherHead] = [:]

    init(descriptor: SignedTopicDescriptor) {
        self.descriptor = descriptor
    }
}

/// Why a descriptor was not stored.
enum DescriptorRejection: Error {
    case badSignature(String)
    case stale(String)
}

/// All topics the broker serves (in memory; the store makes them durable).
struct TopicTable {
    private(set) var topics: [TopicID: TopicState] = [:]

    subscript(topic: TopicID) -> TopicState? { topics[topic] }

    /// Stores `descriptor` if it is signed by its topic key and newer than what is held.
    mutating func put(_ descriptor: SignedTopicDescriptor) throws(DescriptorRejection) {
        do { try descriptor.verifySignature() } catch { throw .badSignature(error.message) }
        let topic = descriptor.descriptor.topic
        guard let existing = topics[topic] else {
            topics[topic] = TopicState(descriptor: descriptor)
            return
        }
        let held = existing.descriptor.descriptor.revision
        let offered = descriptor.descriptor.revision
        if offered < held || (offered == held && existing.descriptor != descriptor) {
            throw .stale("the broker holds revision \(held) of topic \(topic.text); send a higher revision")
        }
        existing.descriptor = descriptor
    }

    mutating func removeSubscriber(_ session: ObjectIdentifier, from topic: TopicID) {
        topics[topic]?.subscribers.remove(session)
    }
}
