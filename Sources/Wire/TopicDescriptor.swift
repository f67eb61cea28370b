import Sodium

/// How much of a topic brokers keep; 0 in a field means the broker's default. A broker applies
/// its own limits where they are lower.
public struct Retention: Sendable, Equatable {
    public var maximumEvents: UInt64
    public var maximumBytes: UInt64
    public var maximumAgeSeconds: UInt64

    public init(maximumEvents: UInt64 = 0, maximumBytes: UInt64 = 0, maximumAgeSeconds: UInt64 = 0) {
        self.maximumEvents = maximumEvents
        self.maximumBytes = maximumBytes
        self.maximumAgeSeconds = maximumAgeSeconds
    }

    /// What a broker whose own limits are `brokerLimits` applies: the topic's value where it sets
    /// one and it is lower, the broker's otherwise (0 in `brokerLimits` means no limit).
    public func effective(under brokerLimits: Retention) -> Retention {
        func pick(_ topic: UInt64, _ broker: UInt64) -> UInt64 {
            if topic == 0 { return broker }
            return broker == 0 ? topic : min(topic, broker)
        }
        return Retention(maximumEvents: pick(maximumEvents, brokerLimits.maximumEvents),
                         maximumBytes: pick(maximumBytes, brokerLimits.maximumBytes),
                         maximumAgeSeconds: pick(maximumAgeSeconds, brokerLimits.maximumAgeSeconds))
    }
}

/// One reader of a topic: its identity and the current epoch secret sealed to it.
public struct ReaderKey: Sendable, Equatable {
    public static let sealedSecretByteCount = EpochSecret.byteCount + SealedBox.overhead

    public let reader: SigningPublicKey
    public let sealedEpochSecret: [UInt8]

    public init(reader: SigningPublicKey, sealedEpochSecret: [UInt8]) {
        self.reader = reader
        self.sealedEpochSecret = sealedEpochSecret
    }
}

/// A topic's descriptor, signed by the topic key (protocol/README.md, "Topic descriptor"): who owns
/// it, who may publish, who may read (the epoch secret sealed to each reader), and its retention.
public struct TopicDescriptor: Sendable, Equatable {
    static let tag: UInt8 = 0x54  // "T"
    static let version: UInt8 = 1

    public var topic: TopicID
    /// Higher revisions replace lower ones.
    public var revision: UInt64
    public var name: String
    public var owners: [SigningPublicKey]
    /// When true anyone may publish; otherwise only `publishers`.
    public var openPublishing: Bool
    public var publishers: [SigningPublicKey]
    /// Bumped whenever a reader is removed, so the removed reader cannot read what follows.
    public var epoch: UInt32
    /// Lets publishers that are not readers encrypt to the epoch (write-only access).
    public var epochPublicKey: KeyAgreementPublicKey
    public var readers: [ReaderKey]
    public var retention: Retention

    public init(topic: TopicID, revision: UInt64, name: String, owners: [SigningPublicKey], openPublishing: Bool,
                publishers: [SigningPublicKey], epoch: UInt32, epochPublicKey: KeyAgreementPublicKey, readers: [ReaderKey],
                retention: Retention = Retention()) {
        self.topic = topic
        self.revision = revision
        self.name = name
        self.owners = Array(Set(owners)).sorted()
        self.openPublishing = openPublishing
        self.publishers = openPublishing ? [] : Array(Set(publishers)).sorted()
        self.epoch = epoch
        self.epochPublicKey = epochPublicKey
        var seen = Set<SigningPublicKey>()
        self.readers = readers.filter { seen.insert($0.reader).inserted }.sorted { $0.reader < $1.reader }
        self.retention = retention
    }

    /// Whether the descriptor lets `identity` publish.
    public func allowsPublisher(_ identity: SigningPublicKey) -> Bool {
        openPublishing || publishers.contains(identity)
    }

    /// The epoch secret sealed to `identity`, if it is a reader.
    public func readerKey(for identity: SigningPublicKey) -> ReaderKey? {
        readers.first { $0.reader == identity }
    }

    /// The canonical encoding: the bytes the topic key signs.
    public func encodedBody() -> [UInt8] {
        var writer = ByteWriter(capacity: 256 + readers.count * 112 + (owners.count + publishers.count) * 32)
        writer.u8(Self.tag)
        writer.u8(Self.version)
        writer.raw(topic.raw)
        writer.u64(revision)
        writer.string16(name)
        writer.u16(UInt16(owners.count))
        for owner in owners { writer.raw(owner.raw) }
        writer.u8(openPublishing ? 1 : 0)
        writer.u16(UInt16(publishers.count))
        for publisher in publishers { writer.raw(publisher.raw) }
        writer.u32(epoch)
        writer.raw(epochPublicKey.bytes)
        writer.u16(UInt16(readers.count))
        for reader in readers {
            writer.raw(reader.reader.raw)
            writer.raw(reader.sealedEpochSecret)
        }
        writer.u64(retention.maximumEvents)
        writer.u64(retention.maximumBytes)
        writer.u64(retention.maximumAgeSeconds)
        return writer.bytes
    }

    /// Signs with the topic key pair, whose public key must be `topic`.
    public func signed(by topicKey: SigningKeyPair) -> SignedTopicDescriptor {
        precondition(topicKey.publicKey == topic, "a descriptor is signed by its topic key")
        let body = encodedBody()
        return SignedTopicDescriptor(descriptor: self, body: body, signature: topicKey.signature(for: body))
    }

    static func decodeBody(_ reader: inout ByteReader) throws(WireError) -> TopicDescriptor {
        guard try reader.u8("descriptor tag") == tag else { throw WireError(.invalidValue, "not a topic descriptor (wrong tag)") }
        let version = try reader.u8("descriptor version")
        guard version == Self.version else { throw WireError(.unsupported, "topic descriptor version \(version) is not supported") }
        let topic = try reader.signingKey("descriptor topic")
        let revision = try reader.u64("descriptor revision")
        let name = try reader.string16("descriptor name", limit: Limits.maximumTopicNameLength)
        let owners = try readSortedKeys(&reader, "descriptor owners")
        guard !owners.isEmpty else { throw WireError(.invalidValue, "a topic descriptor names at least one owner") }
        let openByte = try reader.u8("descriptor open flag")
        guard openByte <= 1 else { throw WireError(.invalidValue, "descriptor open flag must be 0 or 1") }
        let publishers = try readSortedKeys(&reader, "descriptor publishers")
        guard openByte == 0 || publishers.isEmpty else {
            throw WireError(.invalidValue, "an open topic descriptor lists no publishers")
        }
        let epoch = try reader.u32("descriptor epoch")
        let epochPublicKey = try! KeyAgreementPublicKey(try reader.raw(KeyAgreementPublicKey.byteCount, "descriptor epoch public key"))
        let readerCount = Int(try reader.u16("descriptor reader count"))
        guard readerCount <= Limits.maximumDescriptorMembers else {
            throw WireError(.limitExceeded, "descriptor lists \(readerCount) readers, at most \(Limits.maximumDescriptorMembers) allowed")
        }
        var readers: [ReaderKey] = []
        for _ in 0..<readerCount {
            let identity = try reader.signingKey("descriptor reader")
            if let last = readers.last, !(last.reader < identity) {
                throw WireError(.invalidValue, "descriptor readers must be ascending and distinct")
            }
            readers.append(ReaderKey(reader: identity, sealedEpochSecret: try reader.raw(ReaderKey.sealedSecretByteCount, "descriptor sealed epoch secret")))
        }
        let retention = Retention(maximumEvents: try reader.u64("retention events"), maximumBytes: try reader.u64("retention bytes"),
                                  maximumAgeSeconds: try reader.u64("retention age"))
        return TopicDescriptor(topic: topic, revision: revision, name: name, owners: owners, openPublishing: openByte == 1,
                               publishers: publishers, epoch: epoch, epochPublicKey: epochPublicKey, readers: readers, retention: retention)
    }

    private static func readSortedKeys(_ reader: inout ByteReader, _ field: String) throws(WireError) -> [SigningPublicKey] {
        let count = Int(try reader.u16("\(field) count"))
        guard count <= Limits.maximumDescriptorMembers else {
            throw WireError(.limitExceeded, "\(field): \(count) entries, at most \(Limits.maximumDescriptorMembers) allowed")
        }
        var keys: [SigningPublicKey] = []
        for _ in 0..<count {
            let key = try reader.signingKey(field)
            if let last = keys.last, !(last < key) { throw WireError(.invalidValue, "\(field) must be ascending and distinct") }
            keys.append(key)
        }
        return keys
    }
}

/// A topic descriptor with the topic key's signature. Decoding does not verify: call `verifySignature()`.
public struct SignedTopicDescriptor: Sendable, Equatable {
    public let descriptor: TopicDescriptor
    public let body: [UInt8]
    public let signature: [UInt8]

    /// body ‖ signature.
    public var encoded: [UInt8] { body + signature }

    /// Parses an encoded signed descriptor, checking structure and limits but not the signature.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> SignedTopicDescriptor {
        let (body, signature) = try SignedBytes.split(bytes, limit: Limits.maximumDescriptorLength, structure: "a topic descriptor")
        var reader = ByteReader(body)
        let descriptor = try TopicDescriptor.decodeBody(&reader)
        try reader.expectEnd("topic descriptor")
        return SignedTopicDescriptor(descriptor: descriptor, body: body, signature: signature)
    }

    /// Fails unless the topic key signed exactly these bytes.
    public func verifySignature() throws(WireError) {
        guard descriptor.topic.isValidSignature(signature, for: body) else {
            throw WireError(.badSignature, "the descriptor of topic \(descriptor.topic.text) is not signed by its topic key")
        }
    }

    /// Whether a broker holding `held` takes this descriptor (§7.2): a higher revision, or the very
    /// same descriptor again.
    public func mayReplace(_ held: SignedTopicDescriptor) -> Bool {
        descriptor.revision > held.descriptor.revision || self == held
    }
}
