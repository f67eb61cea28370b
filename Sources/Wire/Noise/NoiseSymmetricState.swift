import Sodium

/// Noise SymmetricState with BLAKE2b (HASHLEN 64, BLOCKLEN 128) (Noise spec §5.2).
struct NoiseSymmetricState {
    static let hashLength = 64
    static let blockLength = 128

    private(set) var cipher = NoiseCipherState()
    private var chainingKey: [UInt8]
    private(set) var handshakeHash: [UInt8]

    init(protocolName: String) {
        let name = Array(protocolName.utf8)
        if name.count <= Self.hashLength {
            handshakeHash = name + [UInt8](repeating: 0, count: Self.hashLength - name.count)
        } else {
            handshakeHash = BLAKE2b.hash(name, outputByteCount: Self.hashLength)
        }
        chainingKey = handshakeHash
    }

    static func hash(_ data: [UInt8]) -> [UInt8] {
        BLAKE2b.hash(data, outputByteCount: hashLength)
    }

    /// HMAC (RFC 2104) over BLAKE2b-512.
    static func hmac(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var block = key.count > blockLength ? hash(key) : key
        block += [UInt8](repeating: 0, count: blockLength - block.count)
        defer { Memory.zero(&block) }
        // The key block is padded in place: with 0x36 for the inner hash, then (undoing that) 0x5c.
        for index in block.indices { block[index] ^= 0x36 }
        var inner = BLAKE2b.hash(outputByteCount: hashLength) { update in
            block.withUnsafeBytes(update)
            data.withUnsafeBytes(update)
        }
        defer { Memory.zero(&inner) }
        for index in block.indices { block[index] ^= 0x36 ^ 0x5c }
        return BLAKE2b.hash(outputByteCount: hashLength) { update in
            block.withUnsafeBytes(update)
            inner.withUnsafeBytes(update)
        }
    }

    /// HKDF with two outputs (Noise spec §4.3).
    static func hkdf(chainingKey: [UInt8], inputKeyMaterial: [UInt8]) -> ([UInt8], [UInt8]) {
        var temporaryKey = hmac(key: chainingKey, data: inputKeyMaterial)
        defer { Memory.zero(&temporaryKey) }
        let output1 = hmac(key: temporaryKey, data: [0x01])
        let output2 = hmac(key: temporaryKey, data: output1 + [0x02])
        return (output1, output2)
    }

    mutating func mixKey(_ inputKeyMaterial: [UInt8]) {
        var (newChainingKey, temporaryKey) = Self.hkdf(chainingKey: chainingKey, inputKeyMaterial: inputKeyMaterial)
        Memory.zero(&chainingKey)
        chainingKey = newChainingKey
        cipher.initializeKey(try! SymmetricKey(Array(temporaryKey.prefix(32)), placement: .heap))
        Memory.zero(&temporaryKey)
        Memory.zero(&newChainingKey)
    }

    mutating func mixHash(_ data: [UInt8]) {
        handshakeHash = Self.hash(handshakeHash + data)
    }

    mutating func encryptAndHash(_ plaintext: [UInt8]) throws(WireError) -> [UInt8] {
        let ciphertext = try cipher.encrypt(associatedData: handshakeHash, plaintext: plaintext)
        mixHash(ciphertext)
        return ciphertext
    }

    mutating func decryptAndHash(_ ciphertext: [UInt8]) throws(WireError) -> [UInt8] {
        let plaintext = try cipher.decrypt(associatedData: handshakeHash, ciphertext: ciphertext)
        mixHash(ciphertext)
        return plaintext
    }

    /// The transport: the first key encrypts from initiator to responder, the second back.
    mutating func split(asInitiator: Bool) -> NoiseTransport {
        var (first, second) = Self.hkdf(chainingKey: chainingKey, inputKeyMaterial: [])
        defer {
            Memory.zero(&first)
            Memory.zero(&second)
            Memory.zero(&chainingKey)
        }
        let keyLength = ChaCha20Poly1305.keyByteCount
        return first.withUnsafeBytes { first in
            second.withUnsafeBytes { second in
                let (toResponder, toInitiator) = (UnsafeRawBufferPointer(rebasing: first[..<keyLength]),
                                                  UnsafeRawBufferPointer(rebasing: second[..<keyLength]))
                return asInitiator ? NoiseTransport(send: toResponder, receive: toInitiator) : NoiseTransport(send: toInitiator, receive: toResponder)
            }
        }
    }
}
