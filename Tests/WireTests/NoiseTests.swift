import Sodium
import Testing
@testable import Wire

@Suite struct NoiseTests {
    /// The published cacophony vectors for Noise_XX_25519_ChaChaPoly_BLAKE2b: every handshake and
    /// transport ciphertext must match byte for byte, in both roles.
    @Test func cacophonyVectors() throws {
        let file = try loadVectors("noise/cacophony-XX_25519_ChaChaPoly_BLAKE2b.json")
        let vectors = file["vectors"] as! [[String: Any]]
        #expect(!vectors.isEmpty)
        for vector in vectors {
            #expect(vector["protocol_name"] as? String == NoiseHandshake.protocolName)
            func key(_ field: String) throws -> KeyAgreementKeyPair {
                try KeyAgreementKeyPair(secretKey: SecureBytes(hex(vector[field] as! String)))
            }
            var initiator = NoiseHandshake(role: .initiator, prologue: hex(vector["init_prologue"] as! String),
                                           staticKey: try key("init_static"), ephemeral: try key("init_ephemeral"))
            var responder = NoiseHandshake(role: .responder, prologue: hex(vector["resp_prologue"] as! String),
                                           staticKey: try key("resp_static"), ephemeral: try key("resp_ephemeral"))
            let messages = vector["messages"] as! [[String: String]]
            var initiatorTransport: NoiseTransport?
            var responderTransport: NoiseTransport?
            for (index, message) in messages.enumerated() {
                let payload = hex(message["payload"]!)
                let expected = hex(message["ciphertext"]!)
                let initiatorSends = index % 2 == 0
                if index < 3 {
                    if initiatorSends {
                        #expect(try initiator.writeMessage(payload: payload) == expected, "handshake message \(index)")
                        #expect(try responder.readMessage(expected) == payload)
                    } else {
                        #expect(try responder.writeMessage(payload: payload) == expected, "handshake message \(index)")
                        #expect(try initiator.readMessage(expected) == payload)
                    }
                    if index == 2 {
                        #expect(initiator.handshakeHash == responder.handshakeHash)
                        initiatorTransport = try initiator.split()
                        responderTransport = try responder.split()
                    }
                } else if initiatorSends {
                    #expect(try initiatorTransport!.encrypt(payload) == expected, "transport message \(index)")
                    #expect(try responderTransport!.decrypt(expected) == payload)
                } else {
                    #expect(try responderTransport!.encrypt(payload) == expected, "transport message \(index)")
                    #expect(try initiatorTransport!.decrypt(expected) == payload)
                }
            }
        }
    }

    @Test func transportRejectsReplayAndTampering() throws {
        var (client, server) = try establishedPair()
        let frame = try client.seal([1, 2, 3])
        #expect(try server.receive(frame) == .message([1, 2, 3]))
        #expect(throws: WireError.self) { try server.receive(frame) }  // replayed: nonce moved on
        var (client2, server2) = try establishedPair()
        var altered = try client2.seal([1, 2, 3])
        altered[0] ^= 0x80
        #expect(throws: WireError.self) { try server2.receive(altered) }
    }

    @Test func secureChannelAuthenticatesBothIdentities() throws {
        let clientIdentity = SigningKeyPair(), serverIdentity = SigningKeyPair()
        var client = SecureChannel(role: .initiator, identity: clientIdentity)
        var server = SecureChannel(role: .responder, identity: serverIdentity)
        guard case let .send(frames) = try server.receive(try client.start()) else { Issue.record("expected a reply"); return }
        guard case let .established(serverSeen, finals) = try client.receive(frames[0]) else { Issue.record("client not established"); return }
        guard case let .established(clientSeen, none) = try server.receive(finals[0]) else { Issue.record("server not established"); return }
        #expect(serverSeen == serverIdentity.publicKey)
        #expect(clientSeen == clientIdentity.publicKey)
        #expect(none.isEmpty)
        #expect(try server.receive(try client.seal([42])) == .message([42]))
        #expect(try client.receive(try server.seal([43])) == .message([43]))
    }

    /// A broker holds a channel per connection: ten thousand established channels must fit in
    /// one process (their keys are not in guarded pages, which would exhaust vm.max_map_count).
    @Test func tenThousandEstablishedChannelsFit() throws {
        let identity = SigningKeyPair(), noiseKey = KeyAgreementKeyPair()
        let proof = IdentityProof(identity: identity, noiseStaticKey: noiseKey.publicKey)
        var channels: [SecureChannel] = []
        for _ in 0..<5_000 {
            var client = SecureChannel(role: .initiator, identity: identity, noiseStaticKey: noiseKey, proof: proof)
            var server = SecureChannel(role: .responder, identity: identity, noiseStaticKey: noiseKey, proof: proof)
            guard case let .send(frames) = try server.receive(try client.start()),
                  case let .established(_, finals) = try client.receive(frames[0]),
                  case .established = try server.receive(finals[0]) else { Issue.record("handshake failed"); return }
            channels += [client, server]
        }
        #expect(channels.count == 10_000)
    }

    @Test func proofForAnotherStaticKeyFailsTheHandshake() throws {
        // A server that presents someone's proof made for a different Noise key is refused.
        let stolen = IdentityProof(identity: SigningKeyPair(), noiseStaticKey: KeyAgreementKeyPair().publicKey)
        var client = SecureChannel(role: .initiator, identity: SigningKeyPair())
        var server = SecureChannel(role: .responder, identity: SigningKeyPair(), proof: stolen)
        guard case let .send(frames) = try server.receive(try client.start()) else { Issue.record("expected a reply"); return }
        #expect(throws: WireError.self) { try client.receive(frames[0]) }
    }

    @Test func otherPrologueFailsTheHandshake() throws {
        var initiator = NoiseHandshake(role: .initiator, prologue: Array("polder/2".utf8), staticKey: KeyAgreementKeyPair())
        var responder = SecureChannel(role: .responder, identity: SigningKeyPair())
        guard case let .send(frames) = try responder.receive(try initiator.writeMessage()) else { Issue.record("expected a reply"); return }
        #expect(throws: WireError.self) { try initiator.readMessage(frames[0]) }
    }

    @Test func aFailedHandshakeCannotGoOnAndAFinishedOneCannotStartAgain() throws {
        var client = SecureChannel(role: .initiator, identity: SigningKeyPair())
        var server = SecureChannel(role: .responder, identity: SigningKeyPair())
        let first = try client.start()
        #expect(throws: WireError(.handshakeFailed, "the first handshake message carries no payload")) {
            var withPayload = NoiseHandshake(role: .initiator, prologue: SecureChannel.prologue, staticKey: KeyAgreementKeyPair())
            _ = try server.receive(try withPayload.writeMessage(payload: [1]))
        }
        #expect(throws: WireError(.handshakeFailed, "the handshake failed earlier")) { try server.receive(first) }
        var fresh = SecureChannel(role: .responder, identity: SigningKeyPair())
        guard case let .send(frames) = try fresh.receive(first),
              case let .established(_, finals) = try client.receive(frames[0]),
              case .established = try fresh.receive(finals[0]) else { Issue.record("handshake failed"); return }
        #expect(throws: WireError(.handshakeFailed, "the handshake is complete")) { try client.start() }
        #expect(try fresh.receive(try client.seal([7])) == .message([7]))  // the transport is unaffected
    }

    @Test func garbageHandshakeIsRefused() throws {
        var server = SecureChannel(role: .responder, identity: SigningKeyPair())
        #expect(throws: WireError.self) { try server.receive([1, 2, 3]) }
        var client = SecureChannel(role: .initiator, identity: SigningKeyPair())
        _ = try client.start()
        #expect(throws: WireError.self) { try client.receive(Random.bytes(200)) }
    }

    private func establishedPair() throws -> (SecureChannel, SecureChannel) {
        var client = SecureChannel(role: .initiator, identity: SigningKeyPair())
        var server = SecureChannel(role: .responder, identity: SigningKeyPair())
        guard case let .send(frames) = try server.receive(try client.start()),
              case let .established(_, finals) = try client.receive(frames[0]) else { throw WireError(.handshakeFailed, "test") }
        _ = try server.receive(finals[0])
        return (client, server)
    }
}
