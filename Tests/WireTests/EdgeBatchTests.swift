import Sodium
import Testing
@testable import Wire

/// `batch` (protocol/README.md, §4.16): packing, the limits, and every malformed shape refused.
@Suite struct EdgeBatchTests {
    func pings(_ count: Int) -> [[UInt8]] { (1...count).map { EdgeMessage.ping(nonce: UInt64($0)).encoded() } }

    @Test func aLoneMessageGoesAsItselfAndSeveralAsOneBatch() throws {
        let one = pings(1)
        #expect(EdgeBatch.pack(one, fromBroker: false) == one)
        #expect(try EdgeBatch.unpack(one[0], fromBroker: true) == one)
        let three = pings(3)
        let packed = EdgeBatch.pack(three, fromBroker: false)
        #expect(packed.count == 1)
        #expect(packed[0].count == 3 + 3 * (2 + 9))
        #expect(Array(packed[0].prefix(3)) == [EdgeBatch.clientTag, 0, 3])
        #expect(try EdgeBatch.unpack(packed[0], fromBroker: false) == three)
        #expect(EdgeBatch.pack(three, fromBroker: true)[0].first == EdgeBatch.brokerTag)
    }

    @Test func packingSplitsAtTheTransportLimitAndKeepsOrder() throws {
        // 3 + 2 + 40,000 fits; a second 40,000-byte message does not, and goes on into the next batch.
        let large = [UInt8](repeating: 0x06, count: 40_000)
        let messages = [large] + pings(5) + [large] + pings(2)
        let packed = EdgeBatch.pack(messages, fromBroker: false)
        #expect(packed.count == 2)
        #expect(packed.allSatisfy { $0.count <= Limits.maximumMessageLength })
        #expect(try packed.flatMap { try EdgeBatch.unpack($0, fromBroker: false) } == messages)
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

    @Test func anOutboxSealsItsTurnIntoFramesThePeerOpensInOrder() throws {
        var (client, broker) = try establishedPair()
        var outbox = EdgeOutbox(fromBroker: false)
        let first = outbox.append(pings(1)[0])
        let later = pings(20).dropFirst().map { outbox.append($0) }
        #expect(first && !later.contains(true))
        #expect(outbox.byteCount == 20 * 9)
        let frames = try outbox.seal(with: &client)
        #expect(outbox.isEmpty && outbox.byteCount == 0)
        #expect(frames.count == 1)
        guard case .message(let plaintext) = try broker.receive(frames[0]) else { Issue.record("not a message"); return }
        #expect(try EdgeBatch.unpack(plaintext, fromBroker: false) == pings(20))
        // The next turn's single message goes as itself.
        let again = outbox.append(pings(1)[0])
        #expect(again)
        let single = try outbox.seal(with: &client)
        #expect(try broker.receive(single[0]) == .message(pings(1)[0]))
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
