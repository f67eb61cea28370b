import Foundation
import Sodium
import Testing
@testable import Wire

/// The overlay's vectors in protocol/vectors/overlay.json: Bloom filter hashing, a signed broker
/// profile, ring positions and every peer message. Everything derives from fixed seeds, so the
/// file regenerates byte for byte (POLDER_WRITE_VECTORS=1).
@Suite(.serialized) struct OverlayVectorTests {
    static let broker = keyPair(seedByte: 0x06)
    static let topics = [keyPair(seedByte: 0x02).publicKey, keyPair(seedByte: 0x07).publicKey]

    static func profile() -> SignedBrokerProfile {
        BrokerProfile(broker: broker.publicKey, issued: 1_790_000_000_000, address: "192.0.2.7:7471",
                      topics: BrokerProfile.topicFilter(topics.map { BloomFilter.Key($0.bytes) })).signed(by: broker)
    }

    static func sampleMessages() throws -> [(String, PeerMessage)] {
        let profile = profile()
        let entries = [ViewEntry(profile: profile, age: 3)]
        let topic = topics[0]
        let publisher = ProtocolVectorTests.publisher.publicKey
        let event = ProtocolVectorTests.sampleEvent(sequence: 1, dependencies: [], payload: Array("opaque".utf8))
        var held = BloomFilter(bitCountLog2: 6)
        held.insert(BloomFilter.Key(event.id.bytes))
        return [
            ("hello", .hello(profile)),
            ("shuffle", .shuffle(entries)), ("shuffleReply", .shuffleReply([])),
            ("cluster", .cluster(entries)), ("clusterReply", .clusterReply(entries)),
            ("ring", .ring(topic: topic, entries: entries)), ("ringReply", .ringReply(topic: topic, entries: [])),
            ("event", .event(event)),
            ("requestRange", .requestRange(topic: topic, publisher: publisher, from: 2, to: 9)),
            ("requestIDs", .requestIDs(topic: topic, ids: [event.id])),
            ("missingRange", .missingRange(topic: topic, publisher: publisher, from: 2, to: 4, pruned: true)),
            ("missingIDs", .missingIDs(topic: topic, ids: [event.id])),
            ("sync", .sync(topic: topic, heads: [PublisherSequence(publisher: publisher, sequence: 12)], held: held)),
            ("syncDone", .syncDone(topic: topic, floors: [PublisherSequence(publisher: publisher, sequence: 5)], more: false)),
            ("descriptor", .descriptor(try SignedTopicDescriptor.decode(hex(loadVectors("descriptors.json")["encoded"] as! String)))),
            ("ping", .ping(nonce: 0x0102_0304_0506_0708)), ("pong", .pong(nonce: 0x0102_0304_0506_0708)),
        ]
    }

    @Test func bloomFilters() throws {
        let generated: [[String: Any]] = Self.topics.map { topic in
            let key = BloomFilter.Key(topic.bytes)
            return ["item": Hex.encode(topic.bytes), "h1": String(key.first, radix: 16), "h2": String(key.second, radix: 16),
                    "indices_256_bits": (0..<7).map { key.index($0, bitCount: 256) }]
        }
        let filter = Self.profile().profile.topics
        try writeVectorsIfAsked("overlay-bloom.json", ["description": "BLAKE2b-128 double hashing, k = 7; filter of both items, 256 bits",
                                                      "items": generated, "filter": Hex.encode(filter.bits)])
        let vectors = try loadVectors("overlay-bloom.json")
        var rebuilt = BloomFilter(bitCountLog2: 8)
        for item in vectors["items"] as! [[String: Any]] {
            let key = BloomFilter.Key(hex(item["item"] as! String))
            #expect(String(key.first, radix: 16) == item["h1"] as? String)
            #expect(String(key.second, radix: 16) == item["h2"] as? String)
            #expect((0..<7).map { key.index($0, bitCount: 256) } == item["indices_256_bits"] as? [Int])
            rebuilt.insert(key)
            #expect(rebuilt.contains(key))
        }
        #expect(Hex.encode(rebuilt.bits) == vectors["filter"] as? String)
        // Folding keeps every member.
        let folded = rebuilt.folded(toBitCount: 64)
        for topic in Self.topics { #expect(folded.contains(BloomFilter.Key(topic.bytes))) }
    }

    @Test func profilesAndRingPositions() throws {
        let profile = Self.profile()
        let positions = Self.topics.map { Hex.encode(BLAKE2b.hash($0.bytes + Self.broker.publicKey.bytes, outputByteCount: 32)) }
        try writeVectorsIfAsked("overlay-profile.json", [
            "broker_seed": "06 repeated 32 times", "body": Hex.encode(profile.body), "signature": Hex.encode(profile.signature),
            "encoded": Hex.encode(profile.encoded), "ring_positions": positions,
        ])
        let vector = try loadVectors("overlay-profile.json")
        #expect(Hex.encode(profile.body) == vector["body"] as? String)
        #expect(Hex.encode(profile.signature) == vector["signature"] as? String)
        let decoded = try SignedBrokerProfile.decode(hex(vector["encoded"] as! String))
        #expect(decoded == profile)
        try decoded.verifySignature()
        #expect(positions == vector["ring_positions"] as? [String])
    }

    @Test func peerMessages() throws {
        let samples = try Self.sampleMessages()
        try writeVectorsIfAsked("overlay-messages.json", ["vectors": samples.map { ["message": $0.0, "encoded": Hex.encode($0.1.encoded())] }])
        let vectors = try loadVectors("overlay-messages.json")["vectors"] as! [[String: String]]
        #expect(vectors.count == samples.count)
        for (vector, sample) in zip(vectors, samples) {
            #expect(vector["message"] == sample.0)
            #expect(Hex.encode(sample.1.encoded()) == vector["encoded"], "\(sample.0)")
            #expect(try PeerMessage.decode(hex(vector["encoded"]!)) == sample.1, "\(sample.0)")
        }
    }

    @Test func badPeerMessagesAreRefusedWithTheReason() {
        #expect(throws: WireError.self) { try PeerMessage.decode([0x7F]) }
        let tooMany = [PeerMessage.Tag.shuffle.rawValue, 13]
        #expect { try PeerMessage.decode(tooMany) } throws: { ($0 as? WireError)?.kind == .limitExceeded }
        var backwards = ByteWriter()
        backwards.u8(PeerMessage.Tag.requestRange.rawValue)
        backwards.raw(Self.topics[0].bytes)
        backwards.raw(Self.topics[1].bytes)
        backwards.u64(9)
        backwards.u64(2)
        #expect { try PeerMessage.decode(backwards.bytes) } throws: { ($0 as? WireError)?.kind == .invalidValue }
        var tinyFilter = ByteWriter()
        tinyFilter.u8(PeerMessage.Tag.sync.rawValue)
        tinyFilter.raw(Self.topics[0].bytes)
        tinyFilter.u16(0)
        tinyFilter.u8(5)  // 2^5 bits: below the smallest filter
        tinyFilter.u8(7)
        tinyFilter.raw([0, 0, 0, 0])
        #expect { try PeerMessage.decode(tinyFilter.bytes) } throws: { ($0 as? WireError)?.kind == .invalidValue }
        var forged = Self.profile().body
        forged[forged.count - 1] ^= 1
        let tampered = try? SignedBrokerProfile.decode(forged + Self.profile().signature)
        #expect(tampered != nil)
        #expect(throws: WireError.self) { try tampered?.verifySignature() }
        var oversized = BloomFilter(bitCountLog2: 16).encodedForTest()
        oversized.insert(contentsOf: [0x42, 1] + Self.broker.publicKey.bytes + [0, 0, 0, 0, 0, 0, 0, 1, 0, 0], at: 0)
        #expect { try SignedBrokerProfile.decode(oversized + [UInt8](repeating: 0, count: 64)) } throws: {
            ($0 as? WireError)?.kind == .limitExceeded
        }
    }
}

extension BloomFilter {
    func encodedForTest() -> [UInt8] {
        var writer = ByteWriter()
        encode(into: &writer)
        return writer.bytes
    }
}
