import Sodium

/// What a broker tells the overlay about itself (protocol/README.md, "Broker profile"): its
/// identity, where peers reach it, and a Bloom filter of the topics it serves. Signed by the
/// broker, so a profile passed along by others cannot be altered.
public struct BrokerProfile: Sendable, Equatable {
    static let tag: UInt8 = 0x42  // "B"
    static let version: UInt8 = 1

    public var broker: SigningPublicKey
    /// When the broker made this profile, ms since the Unix epoch; a later one replaces an earlier one.
    public var issued: UInt64
    /// `host:port` of the broker's peer listener.
    public var address: String
    public var topics: BloomFilter

    public init(broker: SigningPublicKey, issued: UInt64, address: String, topics: BloomFilter) {
        self.broker = broker
        self.issued = issued
        self.address = address
        self.topics = topics
    }

    /// The filter a profile carries for `topics`: 16 bits per topic, 7 hash functions, at least
    /// 256 and at most 2^`Limits.maximumProfileFilterLog2` bits.
    public static func topicFilter(_ topics: some Collection<BloomFilter.Key>) -> BloomFilter {
        var filter = BloomFilter(capacity: min(max(topics.count, 16), (1 << Limits.maximumProfileFilterLog2) / 16))
        for topic in topics { filter.insert(topic) }
        return filter
    }

    public func encodedBody() -> [UInt8] {
        var writer = ByteWriter(capacity: 48 + address.utf8.count + topics.bits.count)
        writer.u8(Self.tag)
        writer.u8(Self.version)
        writer.raw(broker.raw)
        writer.u64(issued)
        writer.string16(address)
        topics.encode(into: &writer)
        return writer.bytes
    }

    public func signed(by keyPair: SigningKeyPair) -> SignedBrokerProfile {
        precondition(keyPair.publicKey == broker, "a profile is signed by its broker")
        let body = encodedBody()
        return SignedBrokerProfile(profile: self, body: body, signature: keyPair.signature(for: body))
    }

    static func decodeBody(_ reader: inout ByteReader) throws(WireError) -> BrokerProfile {
        guard try reader.u8("profile tag") == tag else { throw WireError(.invalidValue, "not a broker profile (wrong tag)") }
        let version = try reader.u8("profile version")
        guard version == Self.version else { throw WireError(.unsupported, "broker profile version \(version) is not supported") }
        let broker = try reader.signingKey("profile broker")
        let issued = try reader.u64("profile issued")
        let address = try reader.string16("profile address", limit: Limits.maximumAddressLength)
        let topics = try BloomFilter.decode(&reader, "profile topic filter")
        guard topics.bitCount <= 1 << Limits.maximumProfileFilterLog2 else {
            throw WireError(.limitExceeded, "a profile's topic filter has \(topics.bitCount) bits, at most \(1 << Limits.maximumProfileFilterLog2) allowed")
        }
        return BrokerProfile(broker: broker, issued: issued, address: address, topics: topics)
    }
}

/// A broker profile with its broker's signature. Decoding does not verify: call `verifySignature()`.
/// A class: views hold and pass profiles around constantly, and copying one reference is cheaper
/// than copying the arrays inside.
public final class SignedBrokerProfile: Sendable, Equatable {
    public let profile: BrokerProfile
    public let body: [UInt8]
    public let signature: [UInt8]

    init(profile: BrokerProfile, body: [UInt8], signature: [UInt8]) {
        self.profile = profile
        self.body = body
        self.signature = signature
    }

    public static func == (a: SignedBrokerProfile, b: SignedBrokerProfile) -> Bool {
        a === b || (a.body == b.body && a.signature == b.signature)
    }

    public var broker: SigningPublicKey { profile.broker }

    /// body ‖ signature.
    public var encoded: [UInt8] { body + signature }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> SignedBrokerProfile {
        let (body, signature) = try SignedBytes.split(bytes, limit: Limits.maximumProfileLength, structure: "a broker profile")
        var reader = ByteReader(body)
        let profile = try BrokerProfile.decodeBody(&reader)
        try reader.expectEnd("broker profile")
        return SignedBrokerProfile(profile: profile, body: body, signature: signature)
    }

    static func decode(_ reader: inout ByteReader) throws(WireError) -> SignedBrokerProfile {
        let length = Int(try reader.u16("profile length"))
        return try decode(try reader.raw(length, "profile"))
    }

    func encode(into writer: inout ByteWriter) {
        let bytes = encoded
        writer.u16(UInt16(bytes.count))
        writer.raw(bytes)
    }

    /// Fails unless the broker signed exactly these bytes.
    public func verifySignature() throws(WireError) {
        guard profile.broker.isValidSignature(signature, for: body) else {
            throw WireError(.badSignature, "the profile of broker \(profile.broker.text) does not carry its signature")
        }
    }
}
