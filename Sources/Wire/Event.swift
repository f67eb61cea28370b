import Sodium

/// A topic's ID: the public key of the topic's key pair.
public typealias TopicID = SigningPublicKey

/// An event's ID: BLAKE2b-256 of its signed bytes (the encoded body).
public struct EventID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let byteCount = 32
    /// The ID's 32 bytes, inline.
    public let raw: Bytes32

    /// The ID's bytes as an array (allocates).
    public var bytes: [UInt8] { raw.array }

    public init(_ bytes: some Collection<UInt8>) throws(WireError) {
        guard let raw = Bytes32(bytes) else { throw WireError(.invalidValue, "an event ID is 32 bytes, got \(bytes.count)") }
        self.raw = raw
    }

    @inlinable public init(_ raw: Bytes32) {
        self.raw = raw
    }

    // Written out to be inlinable: dictionaries keyed by these are on every event's path.
    @inlinable public static func == (a: Self, b: Self) -> Bool { a.raw == b.raw }
    @inlinable public func hash(into hasher: inout Hasher) { raw.hash(into: &hasher) }
    @inlinable public func _rawHashValue(seed: Int) -> Int { raw._rawHashValue(seed: seed) }

    init(hashing body: [UInt8]) {
        raw = body.withUnsafeBytes { BLAKE2b.hash32($0) }
    }

    init(hashing body: UnsafeRawBufferPointer) {
        raw = BLAKE2b.hash32(body)
    }

    /// Lowercase hex.
    public var description: String { Hex.encode(bytes) }

    @inlinable public static func < (a: EventID, b: EventID) -> Bool { a.raw < b.raw }
}

/// An event as its publisher signs it (protocol/README.md, "Event").
public struct Event: Sendable, Equatable {
    static let tag: UInt8 = 0x45  // "E"
    static let version: UInt8 = 1

    public var topic: TopicID
    public var publisher: SigningPublicKey
    /// Counts from 1 per publisher per topic, so brokers detect gaps without decrypting.
    public var sequence: UInt64
    /// IDs of the events this one causally follows, ascending and distinct.
    public var dependencies: [EventID]
    /// Publisher's clock, milliseconds since the Unix epoch.
    public var time: UInt64
    /// Milliseconds since the Unix epoch after which brokers drop it; 0 means never.
    public var expiry: UInt64
    /// The topic epoch whose key encrypts the payload.
    public var epoch: UInt32
    /// The encrypted payload (see `PayloadCipher`). A decoded event's payload is a slice of the
    /// signed event's bytes, not a copy of them.
    public var payload: ArraySlice<UInt8>

    public init(topic: TopicID, publisher: SigningPublicKey, sequence: UInt64, dependencies: [EventID] = [], time: UInt64,
                expiry: UInt64 = 0, epoch: UInt32, payload: [UInt8]) {
        self.topic = topic
        self.publisher = publisher
        self.sequence = sequence
        self.dependencies = Array(Set(dependencies)).sorted()
        self.time = time
        self.expiry = expiry
        self.epoch = epoch
        self.payload = payload[...]
    }

    /// For dependencies known to be ascending and distinct (decoded and checked).
    private init(topic: TopicID, publisher: SigningPublicKey, sequence: UInt64, ascendingDependencies: [EventID], time: UInt64,
                 expiry: UInt64, epoch: UInt32, payload: ArraySlice<UInt8>) {
        self.topic = topic
        self.publisher = publisher
        self.sequence = sequence
        dependencies = ascendingDependencies
        self.time = time
        self.expiry = expiry
        self.epoch = epoch
        self.payload = payload
    }

    /// The canonical encoding: the bytes the publisher signs.
    public func encodedBody() -> [UInt8] {
        var writer = ByteWriter(capacity: 160 + payload.count + dependencies.count * 32)
        writer.u8(Self.tag)
        writer.u8(Self.version)
        writer.raw(topic.raw)
        writer.raw(publisher.raw)
        writer.u64(sequence)
        writer.u64(time)
        writer.u64(expiry)
        writer.u8(UInt8(dependencies.count))
        for dependency in dependencies { writer.raw(dependency.raw) }
        writer.u32(epoch)
        writer.bytes32(payload)
        return writer.bytes
    }

    /// Signs with the publisher's key pair, which must match `publisher`.
    public func signed(by keyPair: SigningKeyPair) -> SignedEvent {
        precondition(keyPair.publicKey == publisher, "an event is signed by its publisher")
        let body = encodedBody()
        return SignedEvent(event: self, body: body, signature: keyPair.signature(for: body))
    }

    static func decodeBody(_ reader: inout ByteReader) throws(WireError) -> Event {
        guard try reader.u8("event tag") == tag else { throw WireError(.invalidValue, "not an event (wrong tag)") }
        let version = try reader.u8("event version")
        guard version == Self.version else { throw WireError(.unsupported, "event version \(version) is not supported") }
        let topic = try reader.signingKey("event topic")
        let publisher = try reader.signingKey("event publisher")
        let sequence = try reader.u64("event sequence")
        guard sequence >= 1 else { throw WireError(.invalidValue, "event sequence numbers start at 1") }
        guard sequence <= Limits.maximumSequence else {
            throw WireError(.invalidValue, "event sequence \(sequence) is above the highest allowed, \(Limits.maximumSequence)")
        }
        let time = try reader.u64("event time")
        let expiry = try reader.u64("event expiry")
        let count = Int(try reader.u8("event dependency count"))
        guard count <= Limits.maximumDependencies else {
            throw WireError(.limitExceeded, "an event lists \(count) dependencies, at most \(Limits.maximumDependencies) allowed")
        }
        var dependencies: [EventID] = []
        dependencies.reserveCapacity(count)
        for _ in 0..<count {
            let dependency = try reader.eventID("event dependency")
            if let last = dependencies.last, !(last < dependency) {
                throw WireError(.invalidValue, "event dependencies must be ascending and distinct")
            }
            dependencies.append(dependency)
        }
        let epoch = try reader.u32("event epoch")
        let payload = try reader.slice32("event payload", limit: Limits.maximumPayloadLength)
        return Event(topic: topic, publisher: publisher, sequence: sequence, ascendingDependencies: dependencies, time: time,
                     expiry: expiry, epoch: epoch, payload: payload)
    }
}

/// An event with its publisher's signature. Decoding does not verify: call `verifySignature()`
/// (brokers do so on worker threads or at the end of an event-loop turn). A class, immutable:
/// brokers hand one event to the store, the overlay and every subscriber, and a copy is then one
/// reference, not seven arrays.
public final class SignedEvent: Sendable, Equatable {
    public let event: Event
    /// body ‖ signature: the bytes that are sent, stored and forwarded, kept whole so that none of
    /// that copies them.
    public let encoded: [UInt8]
    public let id: EventID
    /// Whether the event carries no signature of its own and waits for its successor to vouch
    /// for it (§6.4): its signature is 64 zero bytes. Asked several times per event, so kept.
    public let isChained: Bool

    init(event: Event, body: [UInt8], signature: [UInt8]) {
        precondition(signature.count == SigningPublicKey.signatureByteCount, "an event signature is 64 bytes")
        self.event = event
        self.encoded = body + signature
        self.id = EventID(hashing: body)
        isChained = signature.allSatisfy { $0 == 0 }
    }

    private init(event: Event, encoded: [UInt8]) {
        self.event = event
        self.encoded = encoded
        self.id = encoded.withUnsafeBytes { Self.bodyID($0) }
        isChained = encoded[(encoded.count - SigningPublicKey.signatureByteCount)...].allSatisfy { $0 == 0 }
    }

    /// The ID of an encoded signed event, without decoding it; nil when too short to be one.
    public static func id(ofEncoded encoded: UnsafeRawBufferPointer) -> EventID? {
        guard encoded.count > SigningPublicKey.signatureByteCount else { return nil }
        return bodyID(encoded)
    }

    /// The hash of everything before the signature; `encoded` is longer than a signature.
    private static func bodyID(_ encoded: UnsafeRawBufferPointer) -> EventID {
        EventID(hashing: UnsafeRawBufferPointer(rebasing: encoded[..<(encoded.count - SigningPublicKey.signatureByteCount)]))
    }

    /// The signed bytes.
    public var body: ArraySlice<UInt8> { encoded[..<bodyCount] }
    public var signature: ArraySlice<UInt8> { encoded[bodyCount...] }
    private var bodyCount: Int { encoded.count - SigningPublicKey.signatureByteCount }

    public static func == (a: SignedEvent, b: SignedEvent) -> Bool { a === b || a.encoded == b.encoded }

    /// Parses an encoded signed event, checking structure and limits but not the signature.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> SignedEvent {
        var reader = ByteReader(bytes, count: try SignedBytes.bodyCount(bytes, limit: Limits.maximumEventLength, structure: "an event"))
        let event = try Event.decodeBody(&reader)
        try reader.expectEnd("event")
        return SignedEvent(event: event, encoded: bytes)
    }

    /// Fails unless the publisher signed exactly these bytes.
    public func verifySignature() throws(WireError) {
        guard !isChained else {
            throw WireError(.badSignature, "event \(id) is chained: it has no signature of its own, only its successor can vouch for it")
        }
        let valid = encoded.withUnsafeBytes { bytes in
            event.publisher.isValidSignature(signature, for: UnsafeRawBufferPointer(rebasing: bytes[..<bodyCount]))
        }
        guard valid else {
            throw WireError(.badSignature, "event \(id) does not carry a valid signature of its publisher")
        }
    }
}
