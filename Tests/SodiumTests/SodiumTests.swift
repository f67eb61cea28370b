import Sodium
import Testing

@Suite struct Ed25519Tests {
    @Test func signsAndVerifies() throws {
        let keyPair = SigningKeyPair()
        let message = Array("hello".utf8)
        let signature = keyPair.signature(for: message)
        #expect(signature.count == 64)
        #expect(keyPair.publicKey.isValidSignature(signature, for: message))
    }

    @Test func rejectsAlteredMessageSignatureOrKey() {
        let keyPair = SigningKeyPair()
        let message = Array("hello".utf8)
        var signature = keyPair.signature(for: message)
        #expect(!keyPair.publicKey.isValidSignature(signature, for: Array("hellp".utf8)))
        #expect(!SigningKeyPair().publicKey.isValidSignature(signature, for: message))
        signature[10] ^= 1
        #expect(!keyPair.publicKey.isValidSignature(signature, for: message))
        #expect(!keyPair.publicKey.isValidSignature(signature.prefix(63), for: message))
    }

    @Test func seedDeterminesKeyPair() throws {
        // RFC 8032 test 1: secret key 9d61b1...7f60 gives public key d75a98...511a.
        let seed = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        let keyPair = try SigningKeyPair(seed: SecureBytes(seed))
        #expect(keyPair.publicKey.bytes == hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        #expect(keyPair.signature(for: []) == hex(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"))
    }

    @Test func rejectsWrongLengths() {
        #expect(throws: SodiumError.self) { try SigningPublicKey([1, 2, 3]) }
        #expect(throws: SodiumError.self) { try SigningKeyPair(seed: SecureBytes([1])) }
    }
}

@Suite struct KeyAgreementTests {
    @Test func bothSidesDeriveTheSameSecret() throws {
        let a = KeyAgreementKeyPair(), b = KeyAgreementKeyPair()
        #expect(try a.sharedSecret(with: b.publicKey) == b.sharedSecret(with: a.publicKey))
    }

    @Test func refusesLowOrderPoints() throws {
        let zero = try KeyAgreementPublicKey([UInt8](repeating: 0, count: 32))
        #expect(throws: SodiumError.self) { try KeyAgreementKeyPair().sharedSecret(with: zero) }
    }

    @Test func sealedBoxOpensOnlyForRecipient() throws {
        let identity = SigningKeyPair()
        let box = SealedBox.seal(Array("secret".utf8), to: try identity.publicKey.keyAgreementKey())
        #expect(try SealedBox.open(box, with: identity.keyAgreementKeyPair()) == Array("secret".utf8))
        #expect(throws: SodiumError.self) { try SealedBox.open(box, with: SigningKeyPair().keyAgreementKeyPair()) }
        var altered = box
        altered[altered.count - 1] ^= 1
        #expect(throws: SodiumError.self) { try SealedBox.open(altered, with: identity.keyAgreementKeyPair()) }
        #expect(throws: SodiumError.self) { try SealedBox.open([1, 2, 3], with: identity.keyAgreementKeyPair()) }
    }
}

@Suite struct AEADTests {
    @Test func chachaRoundTripAndTamper() throws {
        let key = SymmetricKey()
        let nonce = [UInt8](repeating: 7, count: 12)
        let sealed = try ChaCha20Poly1305.seal(Array("abc".utf8), key: key, nonce: nonce, associatedData: [1])
        #expect(sealed.count == 3 + 16)
        #expect(try ChaCha20Poly1305.open(sealed, key: key, nonce: nonce, associatedData: [1]) == Array("abc".utf8))
        #expect(throws: SodiumError.self) { try ChaCha20Poly1305.open(sealed, key: key, nonce: nonce, associatedData: [2]) }
        #expect(throws: SodiumError.self) { try ChaCha20Poly1305.open(sealed, key: SymmetricKey(), nonce: nonce, associatedData: [1]) }
        #expect(throws: SodiumError.self) { try ChaCha20Poly1305.open(Array(sealed.prefix(10)), key: key, nonce: nonce) }
        #expect(throws: SodiumError.self) { try ChaCha20Poly1305.seal([], key: key, nonce: [1]) }
    }

    @Test func chachaMatchesRFC8439() throws {
        // RFC 8439 §2.8.2 AEAD test vector.
        let key = try SymmetricKey(hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"))
        let plaintext = Array("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".utf8)
        let sealed = try ChaCha20Poly1305.seal(plaintext, key: key, nonce: hex("070000004041424344454647"), associatedData: hex("50515253c0c1c2c3c4c5c6c7"))
        #expect(Array(sealed.suffix(16)) == hex("1ae10b594f09e26a7e902ecbd0600691"))
        #expect(Array(sealed.prefix(4)) == hex("d31a8d34"))
    }

    @Test func xchachaRoundTripAndTamper() throws {
        let key = SymmetricKey()
        let nonce = Random.bytes(24)
        let sealed = try XChaCha20Poly1305.seal([], key: key, nonce: nonce)
        #expect(try XChaCha20Poly1305.open(sealed, key: key, nonce: nonce) == [])
        var altered = sealed
        altered[0] ^= 1
        #expect(throws: SodiumError.self) { try XChaCha20Poly1305.open(altered, key: key, nonce: nonce) }
    }
}

@Suite struct HashAndKeyDerivationTests {
    @Test func blake2bMatchesRFC7693() {
        // RFC 7693 Appendix A: BLAKE2b-512("abc").
        #expect(BLAKE2b.hash(Array("abc".utf8), outputByteCount: 64) == hex(
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"))
    }

    @Test func streamingEqualsOneShotAndKeyMatters() {
        let data = Random.bytes(1000)
        let streamed = BLAKE2b.hash(outputByteCount: 32, key: [9, 9]) { update in
            data[..<333].withUnsafeBytes(update)
            data[333...].withUnsafeBytes(update)
        }
        #expect(streamed == BLAKE2b.hash(data, outputByteCount: 32, key: [9, 9]))
        #expect(BLAKE2b.hash(data, key: [9, 9]) != BLAKE2b.hash(data))
    }

    @Test func argon2idIsDeterministicAndPassphraseSensitive() throws {
        let salt = [UInt8](repeating: 1, count: 16)
        let cost = Argon2id.Cost(operations: 2, memoryBytes: 8 << 20)
        let a = try Argon2id.deriveKey(passphrase: "correct horse", salt: salt, cost: cost)
        let b = try Argon2id.deriveKey(passphrase: "correct horse", salt: salt, cost: cost)
        let wrong = try Argon2id.deriveKey(passphrase: "correct hors", salt: salt, cost: cost)
        let otherSalt = try Argon2id.deriveKey(passphrase: "correct horse", salt: [UInt8](repeating: 2, count: 16), cost: cost)
        #expect(a.isEqual(to: b))
        #expect(!a.isEqual(to: wrong))
        #expect(!a.isEqual(to: otherSalt))
        #expect(throws: SodiumError.self) { try Argon2id.deriveKey(passphrase: "x", salt: [1], cost: cost) }
    }
}

@Suite struct MemoryAndRandomTests {
    @Test func zeroingAndComparison() {
        var secret: [UInt8] = [1, 2, 3]
        Memory.zero(&secret)
        #expect(secret == [0, 0, 0])
        #expect(Memory.constantTimeEquals([1, 2], [1, 2]))
        #expect(!Memory.constantTimeEquals([1, 2], [1, 3]))
        #expect(!Memory.constantTimeEquals([1], [1, 2]))
    }

    @Test func secretBytesHoldTheirValueInBothPlacements() {
        let guarded = SecureBytes([1, 2, 3]), heap = SecureBytes([1, 2, 3], placement: .heap)
        #expect(guarded.unprotectedCopy == [1, 2, 3])
        #expect(heap.unprotectedCopy == [1, 2, 3])
        #expect(guarded.isEqual(to: heap))
        #expect(!heap.isEqual(to: SecureBytes([1, 2, 4], placement: .heap)))
        #expect(SecureBytes(randomCount: 32, placement: .heap).unprotectedCopy != SecureBytes(randomCount: 32, placement: .heap).unprotectedCopy)
    }

    /// Per-connection keys must not be guarded: each guarded allocation takes three memory
    /// mappings, and this many live at once would exceed Linux's default limit of 65,530.
    @Test func tensOfThousandsOfPerConnectionKeysFit() throws {
        let keys = try (0..<40_000).map { _ in try SymmetricKey(Random.bytes(32), placement: .heap) }
        #expect(keys.count == 40_000)
    }

    @Test func randomnessVaries() {
        #expect(Random.bytes(32) != Random.bytes(32))
        #expect((0..<100).allSatisfy { _ in Random.uniform(10) < 10 })
    }
}

func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}
