import Sodium
import Wire

/// Names a durable session: the client it belongs to, the topic, and the client's name for it.
public struct SessionKey: Hashable, Sendable {
    public let client: SigningPublicKey
    public let topic: TopicID
    public let name: String

    public init(client: SigningPublicKey, topic: TopicID, name: String) {
        self.client = client
        self.topic = topic
        self.name = name
    }

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 64 + name.utf8.count)
        writer.raw(client.raw); writer.raw(topic.raw); writer.raw(name.utf8)
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(WireError) -> SessionKey {
        var reader = ByteReader(bytes)
        let client = try reader.signingKey("session client")
        let topic = try reader.signingKey("session topic")
        let nameBytes = try reader.raw(reader.remaining, "session name")
        guard let name = String(validating: nameBytes, as: UTF8.self) else { throw WireError(.invalidValue, "session name: not valid UTF-8") }
        return SessionKey(client: client, topic: topic, name: name)
    }
}

/// What a broker keeps of a durable session between connections.
public struct SessionRecord: Sendable, Equatable {
    /// The last position the client acknowledged; replay resumes after it.
    public var cursor: UInt64
    /// When a client last had the session attached, milliseconds since the Unix epoch.
    public var lastSeen: UInt64
    /// Set once the session was abandoned too long; the record stays as a tombstone so that a
    /// returning client is told what it lost.
    public var expired: Bool

    public init(cursor: UInt64, lastSeen: UInt64, expired: Bool = false) {
        self.cursor = cursor
        self.lastSeen = lastSeen
        self.expired = expired
    }

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 17)
        writer.u64(cursor); writer.u64(lastSeen); writer.u8(expired ? 1 : 0)
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(WireError) -> SessionRecord {
        var reader = ByteReader(bytes)
        let record = SessionRecord(cursor: try reader.u64("cursor"), lastSeen: try reader.u64("last seen"), expired: try reader.u8("expired") == 1)
        try reader.expectEnd("session record")
        return record
    }
}
