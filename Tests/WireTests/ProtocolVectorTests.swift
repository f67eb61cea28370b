import Foundation
import Sodium
import Testing
@testable import Wire

/// Checks the published vectors in protocol/vectors. Run with POLDER_WRITE_VECTORS=1 to rewrite
/// them after a deliberate protocol change (and review the diff).
@Suite(.serialized) struct ProtocolVectorTests {
    static let publisher = keyPair(seedByte: 0x01)
    static let topicKey = keyPair(seedByte: 0x02)
    static let reader = keyPair(seedByte: 0x03)

    static func sampleEvent(sequence: UInt64, dependencies: [EventID], payload: [UInt8]) -> SignedEvent {
        Event(topic: topicKey.publicKey, publisher: publisher.publicKey, sequence: sequence, dependencies: dependencies,
              time: 1_790_000_000_000, expiry: sequence == 1 ? 0 : 1_790_000_060_000, epoch: 1, payload: payload).signed(by: publisher)
    }

    @Test func ids() throws {
        let generated: [[String: Any]] = [Self.publisher, Self.topicKey, Self.reader].map {
            ["public_key": Hex.encode($0.publicKey.bytes), "text": $0.publicKey.text]
        }
        try writeVectorsIfAsked("ids.json", ["description": "ID text form: base32(key ‖ BLAKE2b-256(key)[0..<3])", "vectors": generated])
        for vector in try loadVectors("ids.json")["vectors"] as! [[String: String]] {
            let key = try SigningPublicKey(hex(vector["public_key"]!))
            #expect(key.text == vector["text"])
            #expect(try SigningPublicKey(text: vector["text"]!) == key)
            #expect(try SigningPublicKey(text: vector["text"]!.uppercased()) == key)
        }
    }

    @Test func identityFile() throws {
        let text = String(decoding: IdentityFile.encode(Self.publisher), as: UTF8.self)
        try writeVectorsIfAsked("identity-file.json", ["seed": Hex.encode(Self.publisher.seed.unprotectedCopy), "file": text,
                                                      "public_key": Hex.encode(Self.publisher.publicKey.bytes)])
        let vector = try loadVectors("identity-file.json") as! [String: String]
        let decoded = try IdentityFile.decode(Array(vector["file"]!.utf8))
        #expect(decoded.publicKey.bytes == hex(vector["public_key"]!))
        #expect(decoded.seed.unprotectedCopy == hex(vector["seed"]!))
        #expect(String(decoding: IdentityFile.encode(decoded), as: UTF8.self) == vector["file"])
    }

    @Test func events() throws {
        let first = Self.sampleEvent(sequence: 1, dependencies: [], payload: Array("opaque".utf8))
        let second = Self.sampleEvent(sequence: 2, dependencies: [first.id], payload: [0, 1, 2, 3])
        let generated: [[String: Any]] = [first, second].map { signed in
            ["publisher_seed": "01 repeated 32 times", "topic": Hex.encode(signed.event.topic.bytes),
             "publisher": Hex.encode(signed.event.publisher.bytes), "sequence": signed.event.sequence,
             "dependencies": signed.event.dependencies.map(\.description), "time": signed.event.time, "expiry": signed.event.expiry,
             "epoch": signed.event.epoch, "payload": Hex.encode(signed.event.payload), "body": Hex.encode(signed.body),
             "signature": Hex.encode(signed.signature), "id": signed.id.description, "encoded": Hex.encode(signed.encoded)]
        }
        try writeVectorsIfAsked("events.json", ["vectors": generated])
        for vector in try loadVectors("events.json")["vectors"] as! [[String: Any]] {
            let rebuilt = Event(topic: try SigningPublicKey(hex(vector["topic"] as! String)), publisher: Self.publisher.publicKey,
                                sequence: (vector["sequence"] as! NSNumber).uint64Value,
                                dependencies: try (vector["dependencies"] as! [String]).map { try EventID(hex($0)) },
                                time: (vector["time"] as! NSNumber).uint64Value, expiry: (vector["expiry"] as! NSNumber).uint64Value,
                                epoch: (vector["epoch"] as! NSNumber).uint32Value, payload: hex(vector["payload"] as! String)).signed(by: Self.publisher)
            #expect(Hex.encode(rebuilt.body) == vector["body"] as? String)
            #expect(Hex.encode(rebuilt.signature) == vector["signature"] as? String)
            #expect(rebuilt.id.description == vector["id"] as? String)
            let decoded = try SignedEvent.decode(hex(vector["encoded"] as! String))
            #expect(decoded == rebuilt)
            try decoded.verifySignature()
        }
    }

    /// §6.4: event 3 is chained (64 zero bytes for a signature); event 4 is signed and lists it.
    @Test func chainedEvents() throws {
        let first = Self.sampleEvent(sequence: 1, dependencies: [], payload: Array("opaque".utf8))
        let second = Self.sampleEvent(sequence: 2, dependencies: [first.id], payload: [0, 1, 2, 3])
        let events = try SignedEvent.chain([3, 4].map { sequence in
            Event(topic: Self.topicKey.publicKey, publisher: Self.publisher.publicKey, sequence: sequence, time: 1_790_000_000_000,
                  epoch: 1, payload: [UInt8(sequence)])
        }.reduce(into: [Event]()) { chain, event in
            var event = event
            event.dependencies = [chain.last?.id ?? second.id]
            chain.append(event)
        }, signedBy: Self.publisher)
        let generated: [[String: Any]] = events.map { signed in
            ["sequence": signed.event.sequence, "dependencies": signed.event.dependencies.map(\.description),
             "chained": signed.isChained, "id": signed.id.description, "encoded": Hex.encode(signed.encoded)]
        }
        try writeVectorsIfAsked("event-chain.json", ["description": "Events 3 and 4 of the events.json publisher: 3 is chained, 4 signed and vouches for it",
                                                     "vectors": generated])
        let decoded = try (loadVectors("event-chain.json")["vectors"] as! [[String: Any]]).map { vector in
            let event = try SignedEvent.decode(hex(vector["encoded"] as! String))
            #expect(event.id.description == vector["id"] as? String)
            #expect(event.isChained == vector["chained"] as? Bool)
            return event
        }
        #expect(decoded == events)
        #expect(decoded[0].event.dependencies == [second.id])
        #expect(throws: WireError.self) { try decoded[0].verifySignature() }
        try decoded[1].verifySignature()
        #expect(decoded[1].vouches(for: decoded[0]))
        #expect(!decoded[0].vouches(for: decoded[1]))
    }

    @Test func payloads() throws {
        let secret = try EpochSecret([UInt8](repeating: 0x04, count: 32))
        let ad = PayloadCipher.associatedData(topic: Self.topicKey.publicKey, publisher: Self.publisher.publicKey, sequence: 7, epoch: 1)
        let nonce = [UInt8](repeating: 0x05, count: 24)
        let plaintext = Array("hello, polder".utf8)
        let readerPayload = try PayloadCipher.seal(plaintext, secret: secret, associatedData: ad, nonce: nonce)
        var generated: [String: Any] = [
            "epoch_secret": Hex.encode(secret.secret.unprotectedCopy),
            "payload_key": Hex.encode(secret.payloadKey.secret.unprotectedCopy),
            "epoch_public_key": Hex.encode(secret.keyPair.publicKey.bytes),
            "topic": Hex.encode(Self.topicKey.publicKey.bytes), "publisher": Hex.encode(Self.publisher.publicKey.bytes),
            "sequence": 7, "epoch": 1, "associated_data": Hex.encode(ad), "nonce": Hex.encode(nonce),
            "plaintext": Hex.encode(plaintext), "reader_mode_payload": Hex.encode(readerPayload),
        ]
        generated["write_only_mode_payload"] = Hex.encode(PayloadCipher.sealWriteOnly(plaintext, epochPublicKey: secret.keyPair.publicKey, associatedData: ad))
        try writeVectorsIfAsked("payloads.json", generated)

        let vector = try loadVectors("payloads.json")
        let loaded = try EpochSecret(hex(vector["epoch_secret"] as! String))
        #expect(Hex.encode(loaded.payloadKey.secret.unprotectedCopy) == vector["payload_key"] as? String)
        #expect(Hex.encode(loaded.keyPair.publicKey.bytes) == vector["epoch_public_key"] as? String)
        #expect(Hex.encode(ad) == vector["associated_data"] as? String)
        #expect(Hex.encode(try PayloadCipher.seal(plaintext, secret: loaded, associatedData: ad, nonce: nonce)) == vector["reader_mode_payload"] as? String)
        for mode in ["reader_mode_payload", "write_only_mode_payload"] {
            // As a decoded event holds it: a slice of the event's bytes, not starting at index 0.
            let payload = ([0xee] + hex(vector[mode] as! String))[1...]
            #expect(try PayloadCipher.open(payload, secret: loaded, associatedData: ad) == plaintext)
            // Bound to its event: another sequence number does not decrypt.
            let otherAD = PayloadCipher.associatedData(topic: Self.topicKey.publicKey, publisher: Self.publisher.publicKey, sequence: 8, epoch: 1)
            #expect(throws: WireError.self) { try PayloadCipher.open(payload, secret: loaded, associatedData: otherAD) }
            #expect(throws: WireError.self) { try PayloadCipher.open(payload, secret: EpochSecret(), associatedData: ad) }
        }
    }

    @Test func descriptors() throws {
        let secret = try EpochSecret([UInt8](repeating: 0x04, count: 32))
        let descriptor = TopicDescriptor(
            topic: Self.topicKey.publicKey, revision: 1, name: "chat", owners: [Self.publisher.publicKey], openPublishing: false,
            publishers: [Self.publisher.publicKey], epoch: 1, epochPublicKey: secret.keyPair.publicKey,
            readers: [try secret.sealed(to: Self.publisher.publicKey), try secret.sealed(to: Self.reader.publicKey)],
            retention: Retention(maximumEvents: 1000, maximumBytes: 0, maximumAgeSeconds: 86400))
        let signed = descriptor.signed(by: Self.topicKey)
        try writeVectorsIfAsked("descriptors.json", [
            "description": "sealed epoch secrets are randomised; decode 'encoded', check its signature, re-encode, and open the reader's entry",
            "encoded": Hex.encode(signed.encoded), "topic": Hex.encode(Self.topicKey.publicKey.bytes), "name": "chat", "revision": 1,
            "reader_seed": Hex.encode(Self.reader.seed.unprotectedCopy), "epoch_secret": Hex.encode(secret.secret.unprotectedCopy),
        ])
        let vector = try loadVectors("descriptors.json")
        let encoded = hex(vector["encoded"] as! String)
        let decoded = try SignedTopicDescriptor.decode(encoded)
        try decoded.verifySignature()
        #expect(decoded.encoded == encoded)
        #expect(decoded.descriptor.encodedBody() == decoded.body)
        #expect(decoded.descriptor.name == vector["name"] as? String)
        #expect(decoded.descriptor.retention.maximumAgeSeconds == 86400)
        let reader = try SigningKeyPair(seed: SecureBytes(hex(vector["reader_seed"] as! String)))
        let opened = try EpochSecret.open(decoded.descriptor.readerKey(for: reader.publicKey)!, with: reader)
        #expect(Hex.encode(opened.secret.unprotectedCopy) == vector["epoch_secret"] as? String)
        #expect(throws: WireError.self) { try EpochSecret.open(decoded.descriptor.readerKey(for: reader.publicKey)!, with: SigningKeyPair()) }
    }

    static func sampleMessages() throws -> [(String, EdgeMessage)] {
        let event = sampleEvent(sequence: 1, dependencies: [], payload: Array("opaque".utf8))
        let descriptor = try SignedTopicDescriptor.decode(hex(loadVectors("descriptors.json")["encoded"] as! String))
        let topic = topicKey.publicKey
        return [
            ("subscribe", .subscribe(request: 1, topic: topic, start: .live, durableName: "")),
            ("subscribe_durable_from_beginning", .subscribe(request: 1, topic: topic, start: .beginning, durableName: "inbox")),
            ("subscribe_from_position", .subscribe(request: 1, topic: topic, start: .position(42), durableName: "")),
            ("subscribe_from_time", .subscribe(request: 1, topic: topic, start: .time(1_700_000_000_000), durableName: "ü")),
            ("unsubscribe", .unsubscribe(request: 2, topic: topic)),
            ("publish", .publish(request: 3, event: event)),
            ("put_topic", .putTopic(request: 4, descriptor: descriptor)),
            ("get_topic", .getTopic(request: 5, topic: topic)),
            ("ping", .ping(nonce: 0x0102030405060708)),
            ("ack", .ack(topic: topic, position: 1000)),
            ("ok", .ok(request: 1)),
            ("publish_ack", .publishAck(request: 3, eventID: event.id)),
            ("topic", .topic(request: 5, descriptor: descriptor, head: PublisherHead(sequence: 1, eventID: event.id))),
            ("topic_without_head", .topic(request: 5, descriptor: descriptor, head: nil)),
            ("deliver", .deliver(position: 7, event: event)),
            ("error", .error(request: 3, code: .notAllowedToPublish, text: "not allowed")),
            ("pong", .pong(nonce: 0x0102030405060708)),
            ("subscribed", .subscribed(request: 1, resumed: true, position: 43)),
            ("dropped", .dropped(topic: topic, reason: .retentionCount, count: 15)),
        ]
    }

    /// Batches (§4.16): what each direction's reference sender packs from a few messages.
    static func sampleBatches() throws -> [(direction: String, messages: [EdgeMessage])] {
        let samples = Dictionary(uniqueKeysWithValues: try sampleMessages())
        return [("client", [samples["publish"]!, samples["ack"]!, samples["ping"]!]),
                ("broker", [samples["publish_ack"]!, samples["deliver"]!])]
    }

    @Test func messages() throws {
        let samples = try Self.sampleMessages()
        let batches = try Self.sampleBatches()
        try writeVectorsIfAsked("messages.json", [
            "vectors": samples.map { ["message": $0.0, "encoded": Hex.encode($0.1.encoded())] },
            "batches": batches.map { batch -> [String: Any] in
                let encoded = EdgeBatch.pack(batch.messages.map { $0.encoded() }, fromBroker: batch.direction == "broker")
                return ["direction": batch.direction, "messages": batch.messages.map { Hex.encode($0.encoded()) }, "encoded": Hex.encode(encoded[0])]
            },
        ])
        let batchVectors = try loadVectors("messages.json")["batches"] as! [[String: Any]]
        #expect(batchVectors.count == batches.count)
        for (vector, batch) in zip(batchVectors, batches) {
            let fromBroker = vector["direction"] as? String == "broker"
            #expect(vector["direction"] as? String == batch.direction)
            let encoded = hex(vector["encoded"] as! String)
            #expect(EdgeBatch.pack(batch.messages.map { $0.encoded() }, fromBroker: fromBroker) == [encoded])
            let unpacked = try EdgeBatch.unpack(encoded, fromBroker: fromBroker)
            #expect(try unpacked.map { try EdgeMessage.decode($0) } == batch.messages)
            #expect((vector["messages"] as! [String]).map(hex) == unpacked.map(Array.init))
        }
        let vectors = try loadVectors("messages.json")["vectors"] as! [[String: String]]
        #expect(vectors.count == samples.count)
        for (vector, sample) in zip(vectors, samples) {
            #expect(vector["message"] == sample.0)
            #expect(vector["encoded"] == Hex.encode(sample.1.encoded()), "\(sample.0)")
            #expect(try EdgeMessage.decode(hex(vector["encoded"]!)) == sample.1)
        }
    }

    @Test func handshake() throws {
        let initiatorIdentity = keyPair(seedByte: 0x10), responderIdentity = keyPair(seedByte: 0x20)
        func x25519(_ byte: UInt8) -> KeyAgreementKeyPair { try! KeyAgreementKeyPair(secretKey: SecureBytes([UInt8](repeating: byte, count: 32))) }
        let (initiatorStatic, initiatorEphemeral, responderStatic, responderEphemeral) = (x25519(0x11), x25519(0x12), x25519(0x21), x25519(0x22))
        var initiator = NoiseHandshake(role: .initiator, prologue: SecureChannel.prologue, staticKey: initiatorStatic, ephemeral: initiatorEphemeral)
        var responder = NoiseHandshake(role: .responder, prologue: SecureChannel.prologue, staticKey: responderStatic, ephemeral: responderEphemeral)
        let message1 = try initiator.writeMessage()
        _ = try responder.readMessage(message1)
        let message2 = try responder.writeMessage(payload: IdentityProof(identity: responderIdentity, noiseStaticKey: responderStatic.publicKey).encoded)
        let proof2 = try initiator.readMessage(message2)
        #expect(try IdentityProof.verify(proof2, noiseStaticKey: initiator.remoteStatic!) == responderIdentity.publicKey)
        let message3 = try initiator.writeMessage(payload: IdentityProof(identity: initiatorIdentity, noiseStaticKey: initiatorStatic.publicKey).encoded)
        let proof3 = try responder.readMessage(message3)
        #expect(try IdentityProof.verify(proof3, noiseStaticKey: responder.remoteStatic!) == initiatorIdentity.publicKey)
        var initiatorTransport = try initiator.split()
        var responderTransport = try responder.split()
        let ping = EdgeMessage.ping(nonce: 1).encoded()
        let transport1 = try initiatorTransport.encrypt(ping)
        #expect(try responderTransport.decrypt(transport1) == ping)
        try writeVectorsIfAsked("handshake.json", [
            "description": "polder/1 handshake: Noise XX with identity proofs; keys are 32 repeated bytes",
            "prologue": Hex.encode(SecureChannel.prologue),
            "initiator_identity_seed": "10", "initiator_static": "11", "initiator_ephemeral": "12",
            "responder_identity_seed": "20", "responder_static": "21", "responder_ephemeral": "22",
            "message1": Hex.encode(message1), "message2": Hex.encode(message2), "message3": Hex.encode(message3),
            "first_transport_plaintext": Hex.encode(ping), "first_transport_frame": Hex.encode(transport1),
            "handshake_hash": Hex.encode(initiator.handshakeHash),
        ])
        let vector = try loadVectors("handshake.json") as! [String: String]
        #expect(vector["message1"] == Hex.encode(message1))
        #expect(vector["message2"] == Hex.encode(message2))
        #expect(vector["message3"] == Hex.encode(message3))
        #expect(vector["first_transport_frame"] == Hex.encode(transport1))
        #expect(vector["handshake_hash"] == Hex.encode(initiator.handshakeHash))
    }
}
