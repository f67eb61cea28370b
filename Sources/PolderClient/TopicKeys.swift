import Platform
import Sodium
import Wire

/// What a client keeps about one topic beside its identity (`<dir>/topics/<topic ID>`): the topic
/// key if it owns the topic, the epoch secrets it has learned (so old events stay readable after a
/// key rotation), and the last event it published there.
///
/// File format, one item per line: `polder-topic-keys-v1`, then `topic-key <seed hex>`,
/// `epoch <n> <secret hex>` and `published <sequence> <event ID hex>` lines.
public struct TopicKeys: Sendable {
    static let header = "polder-topic-keys-v1"

    public let topic: TopicID
    public var topicKey: SigningKeyPair?
    public var epochSecrets: [UInt32: EpochSecret] = [:]
    public var lastPublished: PublisherHead?

    public init(topic: TopicID) {
        self.topic = topic
    }

    /// The file that holds a topic's keys in `directory`.
    public static func path(in directory: String, topic: TopicID) -> String {
        FileSystem.join(FileSystem.join(directory, "topics"), topic.text)
    }

    /// Loads the keys kept for `topic`, or empty keys when there is no file.
    public static func load(from directory: String, topic: TopicID) throws(ClientError) -> TopicKeys {
        let path = path(in: directory, topic: topic)
        var keys = TopicKeys(topic: topic)
        guard FileSystem.exists(path) else { return keys }
        do {
            let lines = try FileSystem.readText(path).split(whereSeparator: \.isNewline)
            guard lines.first == Substring(header) else { throw WireError(.invalidValue, "missing '\(header)' header") }
            for line in lines.dropFirst() {
                let fields = line.split(separator: " ").map(String.init)
                switch (fields.first, fields.count) {
                case ("topic-key", 2):
                    let topicKey = try SigningKeyPair(seed: SecureBytes(try Hex.decode(fields[1])))
                    guard topicKey.publicKey == topic else { throw WireError(.invalidValue, "the topic key belongs to another topic") }
                    keys.topicKey = topicKey
                case ("epoch", 3):
                    guard let epoch = UInt32(fields[1]) else { throw WireError(.invalidValue, "bad epoch number '\(fields[1])'") }
                    keys.epochSecrets[epoch] = try EpochSecret(try Hex.decode(fields[2]))
                case ("published", 3):
                    guard let sequence = UInt64(fields[1]) else { throw WireError(.invalidValue, "bad sequence '\(fields[1])'") }
                    keys.lastPublished = PublisherHead(sequence: sequence, eventID: try EventID(try Hex.decode(fields[2])))
                default:
                    throw WireError(.invalidValue, "unknown line '\(fields.first ?? "")'")
                }
            }
        } catch {
            throw ClientError(.protocolViolation, "cannot read topic keys \(path): \(error)")
        }
        return keys
    }

    /// Writes the keys (mode 0600, atomically).
    public func save(to directory: String) throws(ClientError) {
        var lines = [Self.header]
        if let topicKey {
            lines.append("topic-key \(Hex.encode(topicKey.seed.unprotectedCopy))")
        }
        for (epoch, secret) in epochSecrets.sorted(by: { $0.key < $1.key }) {
            lines.append("epoch \(epoch) \(Hex.encode(secret.secret.unprotectedCopy))")
        }
        if let lastPublished {
            lines.append("published \(lastPublished.sequence) \(lastPublished.eventID)")
        }
        let path = Self.path(in: directory, topic: topic)
        do {
            try FileSystem.createDirectory(FileSystem.directoryName(path))
            try FileSystem.writeAtomically(Array((lines.joined(separator: "\n") + "\n").utf8), to: path)
        } catch {
            throw ClientError(.protocolViolation, "cannot save topic keys: \(error)")
        }
    }
}
