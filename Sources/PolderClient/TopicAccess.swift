import Sodium
import Wire

/// Encrypts and decrypts one topic's events for one identity: what `pub` and `sub` do with a
/// descriptor and the keys the client holds.
public struct TopicAccess: Sendable {
    public let descriptor: TopicDescriptor
    public let identity: SigningKeyPair
    public private(set) var keys: TopicKeys

    /// Learns the current epoch secret from the descriptor when this identity is a reader.
    public init(descriptor: TopicDescriptor, identity: SigningKeyPair, keys: TopicKeys) {
        self.descriptor = descriptor
        self.identity = identity
        self.keys = keys
        if self.keys.epochSecrets[descriptor.epoch] == nil, let readerKey = descriptor.readerKey(for: identity.publicKey),
           let secret = try? EpochSecret.open(readerKey, with: identity) {
            self.keys.epochSecrets[descriptor.epoch] = secret
        }
    }

    /// Whether this identity can read the topic's current epoch.
    public var isReader: Bool { keys.epochSecrets[descriptor.epoch] != nil }

    /// Whether the descriptor lets this identity publish.
    public var mayPublish: Bool { descriptor.allowsPublisher(identity.publicKey) }

    /// Encrypts `plaintext` and signs the event.
    public func makeEvent(_ plaintext: [UInt8], sequence: UInt64, dependencies: [EventID], time: UInt64, expiry: UInt64 = 0) throws(ClientError) -> SignedEvent {
        try event(plaintext, sequence: sequence, dependencies: dependencies, time: time, expiry: expiry).signed(by: identity)
    }

    /// Encrypts messages to be published back to back as a chain (protocol/README.md, §6.4): each
    /// event follows the one before it, and only the last and those the chain limits require (every
    /// 257th, or sooner for large events) are signed, which spares the publisher, its broker and
    /// every reader most signature work. `after` is this identity's previous event in the topic,
    /// if any; the first event follows it.
    public func makeChain(_ plaintexts: [[UInt8]], firstSequence: UInt64, after previous: EventID?, time: UInt64,
                          expiry: UInt64 = 0) throws(ClientError) -> [SignedEvent] {
        var events: [Event] = []
        var previous = previous
        for (offset, plaintext) in plaintexts.enumerated() {
            let event = try event(plaintext, sequence: firstSequence + UInt64(offset), dependencies: previous.map { [$0] } ?? [],
                                  time: time, expiry: expiry)
            previous = event.id
            events.append(event)
        }
        do { return try SignedEvent.chain(events, signedBy: identity) } catch { throw ClientError(.protocolViolation, error.message) }
    }

    private func event(_ plaintext: [UInt8], sequence: UInt64, dependencies: [EventID], time: UInt64, expiry: UInt64) throws(ClientError) -> Event {
        let associatedData = PayloadCipher.associatedData(topic: descriptor.topic, publisher: identity.publicKey,
                                                          sequence: sequence, epoch: descriptor.epoch)
        let payload: [UInt8]
        if let secret = keys.epochSecrets[descriptor.epoch] {
            do { payload = try PayloadCipher.seal(plaintext, secret: secret, associatedData: associatedData) } catch {
                throw ClientError(.protocolViolation, error.message)
            }
        } else {
            payload = PayloadCipher.sealWriteOnly(plaintext, epochPublicKey: descriptor.epochPublicKey, associatedData: associatedData)
        }
        guard payload.count <= Limits.maximumPayloadLength else {
            throw ClientError(.protocolViolation, "the message is too large: \(plaintext.count) bytes, and one event holds at most about \(Limits.maximumPayloadLength - 81)")
        }
        return Event(topic: descriptor.topic, publisher: identity.publicKey, sequence: sequence, dependencies: dependencies,
                     time: time, expiry: expiry, epoch: descriptor.epoch, payload: payload)
    }

    /// Decrypts an event of this topic.
    public func decrypt(_ signed: SignedEvent) throws(ClientError) -> [UInt8] {
        let event = signed.event
        guard let secret = keys.epochSecrets[event.epoch] else {
            throw ClientError(.refused(.notAReader), "no key for epoch \(event.epoch) of topic \(event.topic.text): not a reader")
        }
        let associatedData = PayloadCipher.associatedData(topic: event.topic, publisher: event.publisher, sequence: event.sequence, epoch: event.epoch)
        do { return try PayloadCipher.open(event.payload, secret: secret, associatedData: associatedData) } catch {
            throw ClientError(.protocolViolation, "event \(signed.id) does not decrypt: \(error.message)")
        }
    }
}
