import Sodium
import Testing
@testable import Wire

@Suite struct EncodingTests {
    let publisher = SigningKeyPair()
    let topic = SigningKeyPair()

    func event(sequence: UInt64 = 1, payload: [UInt8] = [1, 2, 3]) -> SignedEvent {
        Event(topic: topic.publicKey, publisher: publisher.publicKey, sequence: sequence, time: 5, epoch: 1, payload: payload).signed(by: publisher)
    }

    @Test func eventRoundTripsAndVerifies() throws {
        let signed = event()
        let decoded = try SignedEvent.decode(signed.encoded)
        #expect(decoded == signed)
        #expect(decoded.id == signed.id)
        try decoded.verifySignature()
    }

    @Test func aReaderOnASliceReadsItsOwnBytesOnly() throws {
        let nines = Bytes32([UInt8](repeating: 9, count: 32))!
        var writer = ByteWriter()
        writer.u16(0x0102); writer.u32(0x0304_0506); writer.u64(0x0708_090a_0b0c_0d0e); writer.raw(nines)
        writer.bytes32([7, 7, 7])
        let buffer: [UInt8] = [0xff, 0xff] + writer.bytes + [0xff]
        var reader = ByteReader(buffer[2..<(buffer.count - 1)])
        #expect(try reader.u16("a") == 0x0102)
        #expect(try reader.u32("b") == 0x0304_0506)
        #expect(try reader.u64("c") == 0x0708_090a_0b0c_0d0e)
        #expect(try reader.raw32("d") == nines)
        let shared = try reader.slice32("e", limit: 3)
        #expect(Array(shared) == [7, 7, 7] && shared.startIndex == buffer.count - 4)
        try reader.expectEnd("slice")
        #expect { try reader.u8("past the end") } throws: { ($0 as? WireError)?.kind == .truncated }
        var limited = ByteReader(writer.bytes[(writer.bytes.count - 7)...])
        #expect { try limited.slice32("e", limit: 2) } throws: { ($0 as? WireError)?.kind == .limitExceeded }
    }

    @Test func decodedPayloadIsTheEventsOwnBytes() throws {
        let signed = event(payload: [4, 5, 6, 7])
        let decoded = try SignedEvent.decode(signed.encoded)
        #expect(decoded.event.payload == [4, 5, 6, 7])
        #expect(decoded.event == signed.event)
        decoded.encoded.withUnsafeBufferPointer { encoded in
            decoded.event.payload.withUnsafeBufferPointer { payload in
                #expect(encoded.baseAddress! + decoded.event.payload.startIndex == payload.baseAddress!)
            }
        }
    }

    @Test func everyTruncationIsRefused() {
        let encoded = event().encoded
        for length in 0..<encoded.count {
            #expect(throws: WireError.self) { try SignedEvent.decode(Array(encoded.prefix(length))).verifySignature() }
        }
    }

    @Test func alteredEventFailsItsSignature() throws {
        var encoded = event().encoded
        encoded[70] ^= 1  // inside the sequence number
        let decoded = try SignedEvent.decode(encoded)
        #expect(throws: WireError.self) { try decoded.verifySignature() }
    }

    @Test func nonCanonicalDependenciesAreRefused() throws {
        let a = try EventID([UInt8](repeating: 1, count: 32)), b = try EventID([UInt8](repeating: 2, count: 32))
        var body = Event(topic: topic.publicKey, publisher: publisher.publicKey, sequence: 1, dependencies: [a, b], time: 0, epoch: 1, payload: []).encodedBody()
        // Swap the two dependencies so they are no longer ascending.
        let start = 2 + 32 + 32 + 8 + 8 + 8 + 1
        body.replaceSubrange(start..<start + 64, with: b.bytes + a.bytes)
        #expect(throws: WireError.self) { try SignedEvent.decode(body + publisher.signature(for: body)) }
    }

    @Test func sequenceZeroAndOversizedPayloadAreRefused() throws {
        var body = Event(topic: topic.publicKey, publisher: publisher.publicKey, sequence: 1, time: 0, epoch: 1, payload: []).encodedBody()
        body[2 + 32 + 32 + 7] = 0
        #expect(throws: WireError.self) { try SignedEvent.decode(body + [UInt8](repeating: 0, count: 64)) }
        #expect(throws: WireError.self) { try SignedEvent.decode(event(payload: [UInt8](repeating: 0, count: Limits.maximumPayloadLength + 1)).encoded) }
        let highest = Event(topic: topic.publicKey, publisher: publisher.publicKey, sequence: Limits.maximumSequence, time: 0, epoch: 1,
                            payload: []).signed(by: publisher)
        #expect(try SignedEvent.decode(highest.encoded).event.sequence == Limits.maximumSequence)
        let above = Event(topic: topic.publicKey, publisher: publisher.publicKey, sequence: .max, time: 0, epoch: 1, payload: []).signed(by: publisher)
        #expect(throws: WireError.self) { try SignedEvent.decode(above.encoded) }
    }

    @Test func messagesRejectUnknownTagsAndTrailingBytes() throws {
        #expect(throws: WireError.self) { try EdgeMessage.decode([0x7f]) }
        #expect(throws: WireError.self) { try EdgeMessage.decode([]) }
        #expect(throws: WireError.self) { try EdgeMessage.decode(EdgeMessage.ok(request: 1).encoded() + [0]) }
        #expect(try EdgeMessage.decode(EdgeMessage.ok(request: 9).encoded()) == .ok(request: 9))
    }

    @Test func storeAndForwardMessagesRejectBadFields() throws {
        let topic = SigningKeyPair().publicKey
        func expectRefused(_ bytes: [UInt8], _ kind: WireError.Kind) {
            #expect { try EdgeMessage.decode(bytes) } throws: { ($0 as? WireError)?.kind == kind }
        }
        var subscribe = EdgeMessage.subscribe(request: 1, topic: topic, start: .live, durableName: "").encoded()
        subscribe[37] = 9  // start kind
        expectRefused(subscribe, .invalidValue)
        let longName = EdgeMessage.subscribe(request: 1, topic: topic, start: .live, durableName: String(repeating: "n", count: 65)).encoded()
        expectRefused(longName, .limitExceeded)
        let truncatedStart = Array(EdgeMessage.subscribe(request: 1, topic: topic, start: .position(5), durableName: "").encoded().prefix(42))
        expectRefused(truncatedStart, .truncated)
        var subscribed = EdgeMessage.subscribed(request: 1, resumed: true, position: 1).encoded()
        subscribed[5] = 2  // resumed flag
        expectRefused(subscribed, .invalidValue)
        var dropped = EdgeMessage.dropped(topic: topic, reason: .expired, count: 1).encoded()
        dropped[33] = 0  // reason
        expectRefused(dropped, .invalidValue)
        expectRefused(EdgeMessage.ack(topic: topic, position: 1).encoded() + [0], .trailingBytes)
    }

    @Test func randomBytesNeverCrashTheDecoders() {
        for length in [0, 1, 5, 40, 200, 1000] {
            for _ in 0..<200 {
                let bytes = Random.bytes(length)
                _ = try? EdgeMessage.decode(bytes)
                _ = try? SignedEvent.decode(bytes)
                _ = try? SignedTopicDescriptor.decode(bytes)
            }
        }
    }

    @Test func errorTextIsCutAtACharacterBoundary() throws {
        let long = String(repeating: "é", count: 600)  // 1200 bytes
        let encoded = EdgeMessage.error(request: 1, code: .internalError, text: long).encoded()
        guard case let .error(_, _, text) = try EdgeMessage.decode(encoded) else { Issue.record("not an error"); return }
        #expect(text.utf8.count == 1024)
        #expect(text.allSatisfy { $0 == "é" })
    }

    @Test func idTextDetectsTypos() throws {
        let key = SigningKeyPair().publicKey
        var text = Array(key.text)
        #expect(text.count == 56)
        text[10] = text[10] == "a" ? "b" : "a"
        #expect(throws: WireError.self) { try SigningPublicKey(text: String(text)) }
        #expect(throws: WireError.self) { try SigningPublicKey(text: "short") }
        #expect(throws: WireError.self) { try SigningPublicKey(text: String(repeating: "1", count: 56)) }
    }

    @Test func descriptorRevisionAndMembership() throws {
        let secret = EpochSecret()
        let reader = SigningKeyPair()
        let descriptor = TopicDescriptor(topic: topic.publicKey, revision: 3, name: "t", owners: [publisher.publicKey], openPublishing: false,
                                         publishers: [publisher.publicKey], epoch: 1, epochPublicKey: secret.keyPair.publicKey,
                                         readers: [try secret.sealed(to: reader.publicKey)])
        #expect(descriptor.allowsPublisher(publisher.publicKey))
        #expect(!descriptor.allowsPublisher(reader.publicKey))
        #expect(descriptor.readerKey(for: reader.publicKey) != nil)
        let signed = descriptor.signed(by: topic)
        #expect(try SignedTopicDescriptor.decode(signed.encoded) == signed)
        // Signed by another key: decodes, but does not verify.
        let forged = SignedTopicDescriptor(descriptor: descriptor, body: signed.body, signature: publisher.signature(for: signed.body))
        #expect(throws: WireError.self) { try SignedTopicDescriptor.decode(forged.encoded).verifySignature() }
    }

    @Test func identityFileRejectsGarbage() {
        #expect(throws: WireError.self) { try IdentityFile.decode(Array("nonsense".utf8)) }
        #expect(throws: WireError.self) { try IdentityFile.decode(Array("polder-identity-v1\nzz\n".utf8)) }
        #expect(throws: WireError.self) { try IdentityFile.decode(Array("polder-identity-v1\nabcd\n".utf8)) }
    }
}
