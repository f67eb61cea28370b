import Sodium

/// A topic epoch's 32-byte secret. Readers receive it sealed in the descriptor; from it derive the
/// payload key (XChaCha20-Poly1305) and the epoch's X25519 key pair (for write-only publishers).
public struct EpochSecret: Sendable {
    public static let byteCount = 32
    public let secret: SecureBytes
    /// BLAKE2b-256(key: secret, message: "polder/1 payload key"); derived once, used per event.
    public let payloadKey: SymmetricKey
    /// X25519 key pair whose secret is BLAKE2b-256(key: secret, message: "polder/1 epoch key pair").
    public let keyPair: KeyAgreementKeyPair

    /// A fresh random epoch secret.
    public init() { self.init(secret: SecureBytes(randomCount: Self.byteCount)) }

    public init(_ bytes: [UInt8]) throws(WireError) {
        guard bytes.count == Self.byteCount else { throw WireError(.invalidValue, "an epoch secret is 32 bytes, got \(bytes.count)") }
        self.init(secret: SecureBytes(bytes))
    }

    private init(secret: SecureBytes) {
        self.secret = secret
        var payloadBytes = Self.derive("polder/1 payload key", from: secret)
        var pairBytes = Self.derive("polder/1 epoch key pair", from: secret)
        payloadKey = try! SymmetricKey(payloadBytes)
        keyPair = try! KeyAgreementKeyPair(secretKey: SecureBytes(pairBytes))
        Memory.zero(&payloadBytes)
        Memory.zero(&pairBytes)
    }

    private static func derive(_ label: String, from secret: SecureBytes) -> [UInt8] {
        secret.withUnsafeBytes { key in
            BLAKE2b.hash(Array(label.utf8), outputByteCount: 32, key: Array(key))
        }
    }

    /// Seals the secret to a reader's identity (its Ed25519 key converted to X25519).
    public func sealed(to reader: SigningPublicKey) throws(SodiumError) -> ReaderKey {
        let recipient = try reader.keyAgreementKey()
        var plain = secret.unprotectedCopy
        defer { Memory.zero(&plain) }
        return ReaderKey(reader: reader, sealedEpochSecret: SealedBox.seal(plain, to: recipient))
    }

    /// Opens the secret sealed to `identity`.
    public static func open(_ readerKey: ReaderKey, with identity: SigningKeyPair) throws(WireError) -> EpochSecret {
        do {
            var bytes = try SealedBox.open(readerKey.sealedEpochSecret, with: identity.keyAgreementKeyPair())
            defer { Memory.zero(&bytes) }
            return try EpochSecret(bytes)
        } catch {
            throw WireError(.decryptionFailed, "the epoch secret is not sealed to this identity")
        }
    }
}

/// End-to-end encryption of event payloads, done by clients; brokers only carry the result.
///
/// Mode 0 (readers): `0x00 ‖ nonce[24] ‖ XChaCha20-Poly1305(payload key, nonce, plaintext, ad)`.
/// Mode 1 (write-only publishers): `0x01 ‖ crypto_box_seal(epoch public key, BLAKE2b-256(ad) ‖ plaintext)`.
/// `ad` = "polder/1 payload" ‖ topic ‖ publisher ‖ sequence (u64) ‖ epoch (u32), binding the
/// ciphertext to its event so a broker cannot move it to another.
public enum PayloadCipher {
    public static let readerMode: UInt8 = 0
    public static let writeOnlyMode: UInt8 = 1

    public static func associatedData(topic: TopicID, publisher: SigningPublicKey, sequence: UInt64, epoch: UInt32) -> [UInt8] {
        var writer = ByteWriter(capacity: 96)
        writer.raw(Array("polder/1 payload".utf8))
        writer.raw(topic.raw)
        writer.raw(publisher.raw)
        writer.u64(sequence)
        writer.u32(epoch)
        return writer.bytes
    }

    /// Encrypts as a reader holding the epoch secret.
    public static func seal(_ plaintext: [UInt8], secret: EpochSecret, associatedData: [UInt8], nonce: [UInt8] = Random.bytes(24)) throws(WireError) -> [UInt8] {
        do {
            let ciphertext = try XChaCha20Poly1305.seal(plaintext, key: secret.payloadKey, nonce: nonce, associatedData: associatedData)
            return [readerMode] + nonce + ciphertext
        } catch {
            throw WireError(.invalidValue, "cannot encrypt payload: \(error)")
        }
    }

    /// Encrypts for the epoch's readers without holding the epoch secret.
    public static func sealWriteOnly(_ plaintext: [UInt8], epochPublicKey: KeyAgreementPublicKey, associatedData: [UInt8]) -> [UInt8] {
        [writeOnlyMode] + SealedBox.seal(BLAKE2b.hash(associatedData) + plaintext, to: epochPublicKey)
    }

    /// Decrypts either mode with the epoch secret.
    public static func open(_ payload: ArraySlice<UInt8>, secret: EpochSecret, associatedData: [UInt8]) throws(WireError) -> [UInt8] {
        guard let mode = payload.first else { throw WireError(.truncated, "empty payload") }
        switch mode {
        case readerMode:
            guard payload.count >= 1 + 24 + XChaCha20Poly1305.tagByteCount else { throw WireError(.truncated, "payload too short") }
            do {
                return try XChaCha20Poly1305.open(Array(payload.dropFirst(25)), key: secret.payloadKey,
                                                  nonce: Array(payload.dropFirst().prefix(24)), associatedData: associatedData)
            } catch {
                throw WireError(.decryptionFailed, "payload does not decrypt with this epoch's key")
            }
        case writeOnlyMode:
            let opened: [UInt8]
            do { opened = try SealedBox.open(Array(payload.dropFirst()), with: secret.keyPair) } catch {
                throw WireError(.decryptionFailed, "payload does not decrypt with this epoch's key")
            }
            guard opened.count >= 32, Memory.constantTimeEquals(Array(opened[..<32]), BLAKE2b.hash(associatedData)) else {
                throw WireError(.decryptionFailed, "payload was sealed for a different event")
            }
            return Array(opened[32...])
        default:
            throw WireError(.unsupported, "payload mode \(mode) is not supported")
        }
    }
}
