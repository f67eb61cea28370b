import Wire

/// The topics a broker serves, with their filter keys, and how much it still needs ring
/// neighbours for each (PolderCast's topic priority: ring slots still empty).
public struct TopicInterest: Sendable {
    public private(set) var keys: [TopicID: BloomFilter.Key] = [:]
    var priorities: [TopicID: Int] = [:]

    public init(_ topics: some Sequence<TopicID> = []) {
        for topic in topics { keys[topic] = BloomFilter.Key(topic.bytes) }
    }

    public var topics: Dictionary<TopicID, BloomFilter.Key>.Keys { keys.keys }

    public func contains(_ topic: TopicID) -> Bool { keys[topic] != nil }

    /// Whether a peer's profile says it serves `topic` (a Bloom filter: rarely, a false yes).
    public static func serves(_ profile: SignedBrokerProfile, _ key: BloomFilter.Key) -> Bool {
        profile.profile.topics.contains(key)
    }

    /// How well `profile` suits us: the priorities of the topics we share, then their number.
    public func proximity(of profile: SignedBrokerProfile) -> Proximity {
        var proximity = Proximity(priority: 0, shared: 0)
        let filter = profile.profile.topics
        for (topic, key) in keys where filter.contains(key) {
            proximity.shared += 1
            proximity.priority += priorities[topic] ?? 0
        }
        return proximity
    }
}

/// PolderCast's ranking of a candidate; greater is more similar.
public struct Proximity: Comparable, Sendable {
    public var priority: Int
    public var shared: Int

    public static func < (a: Proximity, b: Proximity) -> Bool {
        (a.priority, a.shared) < (b.priority, b.shared)
    }
}
