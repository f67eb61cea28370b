import Foundation
import PolderClient
import Sodium
import Testing
import TestSupport
import Wire

/// Bad input to a real `polderd`: each kind is refused and closes only its own connection, while a
/// client connected before keeps working.
@Suite(.serialized, .timeLimit(.minutes(2))) struct BadInputTests {
    let owner = SigningKeyPair()

    /// A broker, a topic, and a bystander client that must be unaffected.
    func setUp() async throws -> (Polderd, PolderClient, TestTopic) {
        let broker = try await Polderd(extraArguments: ["--handshake-timeout", "1"])
        let bystander = try await PolderClient.connect(to: broker.address, identity: owner)
        let topic = try await TestTopic(on: bystander, owner: owner)
        return (broker, bystander, topic)
    }

    func expectBystanderStillServed(_ bystander: PolderClient, _ topic: TestTopic, sequence: UInt64) async throws {
        try await bystander.ping()
        try await bystander.publish(try topic.event("still here", by: owner, sequence: sequence))
    }

    @Test func randomBytesInsteadOfAHandshake() async throws {
        let (broker, bystander, topic) = try await setUp()
        for length in [1, 7, 100, 5000] {
            let raw = try RawConnection(address: broker.address)
            try raw.write(raw: Random.bytes(length))
            #expect(raw.isClosedByPeer(), "\(length) random bytes")
        }
        // A valid length prefix with a garbage handshake message, too.
        let framed = try RawConnection(address: broker.address)
        try framed.writeFrame(Random.bytes(32))
        try framed.writeFrame(Random.bytes(64))
        #expect(framed.isClosedByPeer())
        try await expectBystanderStillServed(bystander, topic, sequence: 1)
        bystander.close()
        #expect(try await broker.stop() == 0)
    }

    @Test func randomBytesAfterTheHandshake() async throws {
        let (broker, bystander, topic) = try await setUp()
        let raw = try RawConnection(address: broker.address)
        try raw.handshake(as: SigningKeyPair())
        try raw.writeFrame(Random.bytes(300))  // not a valid transport message: decryption fails
        #expect(raw.isClosedByPeer())
        try await expectBystanderStillServed(bystander, topic, sequence: 1)
        bystander.close()
        _ = try await broker.stop()
    }

    @Test func truncatedMessageGetsAnErrorAndAClose() async throws {
        let (broker, bystander, topic) = try await setUp()
        let raw = try RawConnection(address: broker.address)
        try raw.handshake(as: SigningKeyPair())
        let publish = EdgeMessage.publish(request: 9, event: try topic.event("x", by: owner, sequence: 1)).encoded()
        try raw.send(message: Array(publish.prefix(publish.count / 2)))
        guard case let .error(request, code, text) = try raw.receive() else { Issue.record("expected an error"); return }
        #expect(request == 0 && code == .malformedMessage && !text.isEmpty)
        #expect(raw.isClosedByPeer())
        try await expectBystanderStillServed(bystander, topic, sequence: 1)
        bystander.close()
        _ = try await broker.stop()
    }

    @Test func truncatedFrameFromAPeerThatVanishes() async throws {
        let (broker, bystander, topic) = try await setUp()
        do {
            let raw = try RawConnection(address: broker.address)
            try raw.handshake(as: SigningKeyPair())
            try raw.write(raw: [0, 0, 1, 0] + Random.bytes(100))  // announces 256 bytes, sends 100, then goes
        }
        try await expectBystanderStillServed(bystander, topic, sequence: 1)
        bystander.close()
        _ = try await broker.stop()
    }

    @Test func oversizedLengthPrefixIsRefusedFromThePrefixAlone() async throws {
        let (broker, bystander, topic) = try await setUp()
        let raw = try RawConnection(address: broker.address)
        try raw.handshake(as: SigningKeyPair())
        try raw.write(raw: [0xff, 0xff, 0xff, 0xff])  // 4 GiB announced; nothing more is sent
        guard case let .error(_, code, text) = try raw.receive() else { Issue.record("expected an error"); return }
        #expect(code == .frameTooLarge)
        #expect(text.contains("4294967295"))
        #expect(raw.isClosedByPeer())
        try await expectBystanderStillServed(bystander, topic, sequence: 1)
        bystander.close()
        _ = try await broker.stop()
    }

    @Test func badSignatureIsRefusedAndNotDelivered() async throws {
        let (broker, bystander, topic) = try await setUp()
        let stream = try await bystander.subscribe(topic.id)
        let raw = try RawConnection(address: broker.address)
        try raw.handshake(as: SigningKeyPair())
        let genuine = try topic.event("forged", by: owner, sequence: 1)
        var tampered = genuine.encoded
        tampered[tampered.count - 1] ^= 1  // flip a bit of the signature
        try raw.send(.publish(request: 1, event: try SignedEvent.decode(tampered)))
        guard case let .error(_, code, _) = try raw.receive() else { Issue.record("expected an error"); return }
        #expect(code == .badSignature)
        #expect(raw.isClosedByPeer())
        // Nothing reached the subscriber; the genuine event still can.
        try await bystander.publish(genuine)
        let delivered = await collect(stream, count: 1)
        #expect(delivered.map(\.id) == [genuine.id])
        bystander.close()
        _ = try await broker.stop()
    }

    @Test func handshakeThatNeverFinishesIsCutOff() async throws {
        let (broker, bystander, topic) = try await setUp()
        let raw = try RawConnection(address: broker.address)
        try raw.write(raw: [0, 0])  // half a length prefix, then silence
        try await expectBystanderStillServed(bystander, topic, sequence: 1)
        #expect(raw.isClosedByPeer())  // after the 1 s handshake timeout
        bystander.close()
        _ = try await broker.stop()
    }
}
