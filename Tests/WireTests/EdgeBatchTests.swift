import Sodium
import Testing
@testable import Wire

/// `batch` (protocol/README.md, §4.16): packing, the limits, and every malformed shape refused.
@Suite struct EdgeBatchTests {
    func pings(_ count: Int) -> [[UInt8]] { (1...count).map { EdgeMessage.ping(nonce: UInt64($0)).encoded() } }

    /// The messages unpacked, as arrays to compare.
    func unpack(_ plaintext: [UInt8], fromBroker: Bool) throws -> [[UInt8]] {
        try EdgeBatch.unpack(plaintext, fromBroker: fromBroker).map(Array.init)
    }

    @Test func aLoneMessageGoesAsItselfAndSeveralAsOneBatch() throws {
        let one = pings(1)
        #expect(EdgeBatch.pack(one, fromBroker: false) == one)
        #expect(try unpack(one[0], fromBroker: true) == one)
        let three = pings(3)
        let packed = EdgeBatch.pack(three, fromBroker: false)
        #expect(packed.count == 1)
        #expect(packed[0].count == 3 + 3 * (2 + 9))
        #expect(Array(packed[0].prefix(3)) == [EdgeBatch.clientTag, 0, 3])
        #expect(try unpack(packed[0], fromBroker: false) == three)
        #expect(EdgeBatch.pack(three, fromBroker: true)[0].first == EdgeBatch.brokerTag)
    }

    @Test func packingSplitsAtTheTransportLimitAndKeepsOrder() throws {
        // 3 + 2 + 40,000 fits; a second 40,000-byte message does not, and goes on into the next batch.
        let large = [UInt8](repeating: 0x06, count: 40_000)
        let messages = [large] + pings(5) + [large] + pings(2)
        let packed = EdgeBatch.pack(messages, fromBroker: false)
        #expect(packed.count == 2)
        #expect(packed.allSatisfy { $0.count <= Limits.maximumMessageLength })
        #expect(try packed.flatMap { try unpack($0, fromBroker: false) } == messages)
        // A message too long to share a batch goes alone, between batches.
        let huge = [UInt8](repeating: 0x06, count: Limits.maximumMessageLength - 2)
        let around = EdgeBatch.pack(pings(2) + [huge] + pings(2), fromBroker: false)
        #expect(around.count == 3)
        #expect(around[1] == huge)
    }

    @Test func malformedBatchesAreRefused() {
        func refused(_ bytes: [UInt8], fromBroker: Bool = false, _ kind: WireError.Kind = .invalidValue) {
            #expect { try EdgeBatch.unpack(bytes, fromBroker: fromBroker) } throws: { ($0 as? WireError)?.kind == kind }
        }
        let ping = EdgeMessage.ping(nonce: 1).encoded()
        let valid = EdgeBatch.pack([ping, ping], fromBroker: false)[0]
        refused([EdgeBatch.clientTag, 0, 0])  // no messages
        refused([EdgeBatch.clientTag, 0, 1, 0, 0])  // an empty message
        refused([EdgeBatch.clientTag, 0, 1, 0, UInt8(valid.count)] + valid)  // a batch in a batch
        refused(valid + [0], .trailingBytes)
        refused(Array(valid.dropLast()), .truncated)  // cut short
        refused([EdgeBatch.clientTag, 0], .truncated)
        refused(valid, fromBroker: true, .unsupported)  // a client's batch sent by a broker
        refused(EdgeBatch.pack([ping, ping], fromBroker: true)[0], .unsupported)  // a broker's batch sent by a client
    }

    @Test func aClientOutboxAnnouncesBatchesAndSealsATurnIntoFramesThePeerOpensInOrder() throws {
        var (client, broker) = try establishedPair()
        var outbox = EdgeOutbox.client()
        // The first turn goes as a batch even when it is one message: it tells the broker.
        let first = outbox.append(pings(1)[0])
        #expect(first)
        let announcing = outbox.seal(with: &client)
        #expect(announcing.error == nil && announcing.frames.count == 1)
        guard case .message(let opened) = try broker.receive(announcing.frames[0]) else { Issue.record("not a message"); return }
        #expect(opened.first == EdgeBatch.clientTag)
        #expect(try unpack(opened, fromBroker: false) == pings(1))
        // Then a turn of many goes in batches that fit the lowest frame limit a broker may have.
        let later = pings(1000).map { outbox.append($0) }
        #expect(later.first == true && !later.dropFirst().contains(true))
        #expect(outbox.byteCount == 1000 * 9)
        let sealed = outbox.seal(with: &client)
        #expect(outbox.isEmpty && outbox.byteCount == 0)
        #expect(sealed.error == nil && sealed.frames.count == 3)  // 1000 × 11 bytes in batches of at most 4080
        #expect(sealed.frames.allSatisfy { $0.count <= Limits.smallestFrameLimit })
        var received: [[UInt8]] = []
        for frame in sealed.frames {
            guard case .message(let plaintext) = try broker.receive(frame) else { Issue.record("not a message"); return }
            received += try unpack(plaintext, fromBroker: false)
        }
        #expect(received == pings(1000))
        // A lone message of a later turn goes as itself.
        _ = outbox.append(pings(1)[0])
        #expect(try broker.receive(outbox.seal(with: &client).frames[0]) == .message(pings(1)[0]))
    }

    @Test func aBrokerOutboxBatchesOnlyForAClientThatSentOne() throws {
        var (client, broker) = try establishedPair()
        var outbox = EdgeOutbox.broker()
        for message in pings(3) { _ = outbox.append(message) }
        let single = outbox.seal(with: &broker).frames
        #expect(single.count == 3)
        outbox.peerSentBatch()
        for message in pings(3) { _ = outbox.append(message) }
        let batched = outbox.seal(with: &broker).frames
        #expect(batched.count == 1)
        for frame in single { _ = try client.receive(frame) }
        guard case .message(let plaintext) = try client.receive(batched[0]) else { Issue.record("not a message"); return }
        #expect(try unpack(plaintext, fromBroker: true) == pings(3))
    }

    /// An over-long message fails the seal; what was sealed before it is still handed back.
    @Test func aFailedSealHandsBackTheFramesBeforeIt() throws {
        var (_, broker) = try establishedPair()
        var outbox = EdgeOutbox.broker()
        _ = outbox.append(pings(1)[0])
        _ = outbox.append([UInt8](repeating: 0x06, count: Limits.maximumMessageLength + 1))
        _ = outbox.append(pings(1)[0])
        let (frames, error) = outbox.seal(with: &broker)
        #expect(frames.count == 1)
        #expect(error?.kind == .limitExceeded)
        #expect(outbox.isEmpty)
    }

    /// A client and a broker channel after the handshake.
    func establishedPair() throws -> (SecureChannel, SecureChannel) {
        var client = SecureChannel(role: .initiator, identity: SigningKeyPair())
        var broker = SecureChannel(role: .responder, identity: SigningKeyPair())
        guard case .send(let second) = try broker.receive(try client.start()),
              case .established(_, let third) = try client.receive(second[0]),
              case .established = try broker.receive(third[0]) else { throw WireError(.handshakeFailed, "handshake") }
        return (client, broker)
    }
}
