import Sodium

/// A peer in an overlay view: its signed profile and how many periods ago the entry was made.
public struct ViewEntry: Sendable, Equatable {
    public var profile: SignedBrokerProfile
    public var age: UInt16

    public init(profile: SignedBrokerProfile, age: UInt16 = 0) {
        self.profile = profile
        self.age = age
    }

    public var broker: SigningPublicKey { profile.broker }
}

/// A publisher's position in a topic: the last sequence a broker holds (sync) or the lowest it
/// still keeps (floor).
public struct PublisherSequence: Sendable, Equatable, Hashable {
    public let publisher: SigningPublicKey
    public let sequence: UInt64

    public init(publisher: SigningPublicKey, sequence: UInt64) {
        self.publisher = publisher
        self.sequence = sequence
    }
}

/// Every message between two brokers, one per transport frame on a peer link
/// (protocol/README.md, "Peer messages").
public enum PeerMessage: Sendable, Equatable {
    /// First message on a link, both ways: the sender's current profile (its broker must be the
    /// link's authenticated identity).
    case hello(SignedBrokerProfile)
    /// CYCLON: entries offered, including a fresh one of the sender; answered with `shuffleReply`.
    case shuffle([ViewEntry])
    case shuffleReply([ViewEntry])
    /// VICINITY: candidates offered for the receiver; answered with candidates for the sender.
    case cluster([ViewEntry])
    case clusterReply([ViewEntry])
    /// Ring maintenance for one topic: candidates near the receiver's place on the ring.
    case ring(topic: TopicID, entries: [ViewEntry])
    case ringReply(topic: TopicID, entries: [ViewEntry])
    /// An event being disseminated, or answering a request.
    case event(SignedEvent)
    /// Asks for the events of `publisher` on `topic` with sequences `from`…`to`.
    case requestRange(topic: TopicID, publisher: SigningPublicKey, from: UInt64, to: UInt64)
    /// Asks for events by ID.
    case requestIDs(topic: TopicID, ids: [EventID])
    /// The sender lacks `from`…`to` of a requested range; `pruned` says they are gone for good
    /// (below what it keeps) rather than not received yet.
    case missingRange(topic: TopicID, publisher: SigningPublicKey, from: UInt64, to: UInt64, pruned: Bool)
    /// The sender holds none of these requested IDs.
    case missingIDs(topic: TopicID, ids: [EventID])
    /// Asks for every event of `topic` after `heads` (per publisher) except those in `held` (IDs
    /// the sender holds but has not delivered yet).
    case sync(topic: TopicID, heads: [PublisherSequence], held: BloomFilter)
    /// Ends the events answering a `sync`: `floors` are the lowest sequences the sender keeps for
    /// publishers the requester was behind on; `more` says another sync would bring more.
    case syncDone(topic: TopicID, floors: [PublisherSequence], more: Bool)
    /// A topic descriptor the sender serves, so that the receiver can check its events.
    case descriptor(SignedTopicDescriptor)
    case ping(nonce: UInt64)
    case pong(nonce: UInt64)

    enum Tag: UInt8 {
        case hello = 0x01, shuffle = 0x02, shuffleReply = 0x03, cluster = 0x04, clusterReply = 0x05, ring = 0x06
        case ringReply = 0x07, event = 0x08, requestRange = 0x09, requestIDs = 0x0A, missingRange = 0x0B
        case missingIDs = 0x0C, sync = 0x0D, syncDone = 0x0E, descriptor = 0x0F, ping = 0x10, pong = 0x11
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter()
        switch self {
        case .hello(let profile):
            writer.u8(Tag.hello.rawValue)
            profile.encode(into: &writer)
        case .shuffle(let entries):
            writer.u8(Tag.shuffle.rawValue)
            Self.encode(entries, into: &writer)
        case .shuffleReply(let entries):
            writer.u8(Tag.shuffleReply.rawValue)
            Self.encode(entries, into: &writer)
        case .cluster(let entries):
            writer.u8(Tag.cluster.rawValue)
            Self.encode(entries, into: &writer)
        case .clusterReply(let entries):
            writer.u8(Tag.clusterReply.rawValue)
            Self.encode(entries, into: &writer)
        case let .ring(topic, entries):
            writer.u8(Tag.ring.rawValue)
            writer.raw(topic.raw)
            Self.encode(entries, into: &writer)
        case let .ringReply(topic, entries):
            writer.u8(Tag.ringReply.rawValue)
            writer.raw(topic.raw)
            Self.encode(entries, into: &writer)
        case .event(let event):
            writer.u8(Tag.event.rawValue)
            writer.raw(event.encoded)
        case let .requestRange(topic, publisher, from, to):
            writer.u8(Tag.requestRange.rawValue)
            writer.raw(topic.raw)
            writer.raw(publisher.raw)
            writer.u64(from)
            writer.u64(to)
        case let .requestIDs(topic, ids):
            writer.u8(Tag.requestIDs.rawValue)
            writer.raw(topic.raw)
            Self.encode(ids, into: &writer)
        case let .missingRange(topic, publisher, from, to, pruned):
            writer.u8(Tag.missingRange.rawValue)
            writer.raw(topic.raw)
            writer.raw(publisher.raw)
            writer.u64(from)
            writer.u64(to)
            writer.u8(pruned ? 1 : 0)
        case let .missingIDs(topic, ids):
            writer.u8(Tag.missingIDs.rawValue)
            writer.raw(topic.raw)
            Self.encode(ids, into: &writer)
        case let .sync(topic, heads, held):
            writer.u8(Tag.sync.rawValue)
            writer.raw(topic.raw)
            Self.encode(heads, into: &writer)
            held.encode(into: &writer)
        case let .syncDone(topic, floors, more):
            writer.u8(Tag.syncDone.rawValue)
            writer.raw(topic.raw)
            Self.encode(floors, into: &writer)
            writer.u8(more ? 1 : 0)
        case .descriptor(let descriptor):
            writer.u8(Tag.descriptor.rawValue)
            writer.raw(descriptor.encoded)
        case .ping(let nonce):
            writer.u8(Tag.ping.rawValue)
            writer.u64(nonce)
        case .pong(let nonce):
            writer.u8(Tag.pong.rawValue)
            writer.u64(nonce)
        }
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> PeerMessage {
        var reader = ByteReader(bytes)
        let rawTag = try reader.u8("peer message tag")
        guard let tag = Tag(rawValue: rawTag) else { throw WireError(.unsupported, "unknown peer message tag 0x\(Hex.encode([rawTag]))") }
        let message: PeerMessage
        switch tag {
        case .hello:
            message = .hello(try SignedBrokerProfile.decode(&reader))
        case .shuffle:
            message = .shuffle(try decodeEntries(&reader))
        case .shuffleReply:
            message = .shuffleReply(try decodeEntries(&reader))
        case .cluster:
            message = .cluster(try decodeEntries(&reader))
        case .clusterReply:
            message = .clusterReply(try decodeEntries(&reader))
        case .ring:
            message = .ring(topic: try reader.signingKey("ring topic"), entries: try decodeEntries(&reader))
        case .ringReply:
            message = .ringReply(topic: try reader.signingKey("ring topic"), entries: try decodeEntries(&reader))
        case .event:
            message = .event(try SignedEvent.decode(try reader.raw(reader.remaining, "event")))
        case .requestRange:
            let (topic, publisher, from, to) = try decodeRange(&reader)
            message = .requestRange(topic: topic, publisher: publisher, from: from, to: to)
        case .requestIDs:
            message = .requestIDs(topic: try reader.signingKey("request topic"), ids: try decodeIDs(&reader))
        case .missingRange:
            let (topic, publisher, from, to) = try decodeRange(&reader)
            let pruned = try reader.u8("missing pruned flag")
            guard pruned <= 1 else { throw WireError(.invalidValue, "the pruned flag must be 0 or 1") }
            message = .missingRange(topic: topic, publisher: publisher, from: from, to: to, pruned: pruned == 1)
        case .missingIDs:
            message = .missingIDs(topic: try reader.signingKey("missing topic"), ids: try decodeIDs(&reader))
        case .sync:
            let topic = try reader.signingKey("sync topic")
            let heads = try decodeSequences(&reader, "sync heads")
            message = .sync(topic: topic, heads: heads, held: try BloomFilter.decode(&reader, "sync held filter"))
        case .syncDone:
            let topic = try reader.signingKey("sync topic")
            let floors = try decodeSequences(&reader, "sync floors")
            let more = try reader.u8("sync more flag")
            guard more <= 1 else { throw WireError(.invalidValue, "the more flag must be 0 or 1") }
            message = .syncDone(topic: topic, floors: floors, more: more == 1)
        case .descriptor:
            message = .descriptor(try SignedTopicDescriptor.decode(try reader.raw(reader.remaining, "descriptor")))
        case .ping:
            message = .ping(nonce: try reader.u64("ping nonce"))
        case .pong:
            message = .pong(nonce: try reader.u64("pong nonce"))
        }
        try reader.expectEnd("peer message")
        return message
    }

    private static func encode(_ entries: [ViewEntry], into writer: inout ByteWriter) {
        writer.u8(UInt8(entries.count))
        for entry in entries {
            writer.u16(entry.age)
            entry.profile.encode(into: &writer)
        }
    }

    private static func decodeEntries(_ reader: inout ByteReader) throws(WireError) -> [ViewEntry] {
        let count = Int(try reader.u8("view entry count"))
        guard count <= Limits.maximumViewEntries else {
            throw WireError(.limitExceeded, "\(count) view entries, at most \(Limits.maximumViewEntries) allowed")
        }
        var entries: [ViewEntry] = []
        for _ in 0..<count {
            let age = try reader.u16("view entry age")
            entries.append(ViewEntry(profile: try SignedBrokerProfile.decode(&reader), age: age))
        }
        return entries
    }

    private static func encode(_ ids: [EventID], into writer: inout ByteWriter) {
        writer.u16(UInt16(ids.count))
        for id in ids { writer.raw(id.raw) }
    }

    private static func decodeIDs(_ reader: inout ByteReader) throws(WireError) -> [EventID] {
        let count = Int(try reader.u16("event ID count"))
        guard count <= Limits.maximumRequestedIDs else {
            throw WireError(.limitExceeded, "\(count) event IDs, at most \(Limits.maximumRequestedIDs) allowed")
        }
        var ids: [EventID] = []
        for _ in 0..<count { ids.append(try reader.eventID("event ID")) }
        return ids
    }

    private static func encode(_ sequences: [PublisherSequence], into writer: inout ByteWriter) {
        writer.u16(UInt16(sequences.count))
        for entry in sequences {
            writer.raw(entry.publisher.raw)
            writer.u64(entry.sequence)
        }
    }

    private static func decodeSequences(_ reader: inout ByteReader, _ field: String) throws(WireError) -> [PublisherSequence] {
        let count = Int(try reader.u16("\(field) count"))
        guard count <= Limits.maximumSyncHeads else {
            throw WireError(.limitExceeded, "\(field): \(count) entries, at most \(Limits.maximumSyncHeads) allowed")
        }
        var sequences: [PublisherSequence] = []
        for _ in 0..<count {
            let publisher = try reader.signingKey(field)
            let sequence = try reader.u64("\(field) sequence")
            // A head is at most the highest sequence; a floor may be the one after it.
            guard sequence <= Limits.maximumSequence + 1 else {
                throw WireError(.invalidValue, "\(field): sequence \(sequence) is above the highest allowed, \(Limits.maximumSequence)")
            }
            sequences.append(PublisherSequence(publisher: publisher, sequence: sequence))
        }
        return sequences
    }

    private static func decodeRange(_ reader: inout ByteReader) throws(WireError)
        -> (TopicID, SigningPublicKey, UInt64, UInt64) {
        let topic = try reader.signingKey("range topic")
        let publisher = try reader.signingKey("range publisher")
        let from = try reader.u64("range from")
        let to = try reader.u64("range to")
        guard from >= 1, from <= to, to <= Limits.maximumSequence else {
            throw WireError(.invalidValue, "a sequence range runs from 1 or more up to at least its start and at most \(Limits.maximumSequence)")
        }
        return (topic, publisher, from, to)
    }
}
