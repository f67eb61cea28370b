import Sodium

// Chained events (protocol/README.md, §6.4): a publisher may leave an event unsigned (its
// signature is 64 zero bytes) when its next event in the topic lists it as a dependency and is
// authentic. One Ed25519 signature then authenticates a run of events through their IDs, which is
// what lets a broker verify a fast publisher's stream with a fraction of the signature checks.

extension Event {
    /// The event's ID: BLAKE2b-256 of its body, the same whether it is signed or chained.
    public var id: EventID { EventID(hashing: encodedBody()) }

    /// The event without a signature, to be authenticated by its successor (§6.4).
    public func chained() -> SignedEvent {
        SignedEvent(event: self, body: encodedBody(), signature: SignedEvent.chainedSignature)
    }
}

extension SignedEvent {
    /// The signature field of a chained event.
    static let chainedSignature = [UInt8](repeating: 0, count: SigningPublicKey.signatureByteCount)

    /// Whether this event, once authentic, authenticates `predecessor`: the same topic and
    /// publisher, the sequence right before, and `predecessor`'s ID among this event's dependencies.
    public func vouches(for predecessor: SignedEvent) -> Bool {
        event.sequence == predecessor.event.sequence &+ 1 && event.topic == predecessor.event.topic
            && event.publisher == predecessor.event.publisher && event.dependencies.contains(predecessor.id)
    }

    /// Signs or chains a publisher's consecutive events so that every run of chained events ends
    /// in a signed one: each event after the first must follow its predecessor (sequence + 1, the
    /// predecessor's ID among its dependencies). The last is signed, and so is any event that
    /// chaining would take past `Limits.maximumChainLength` chained events or
    /// `Limits.maximumChainBytes` in a row. Use it for events published back to back; an event sent
    /// on its own is signed.
    public static func chain(_ events: [Event], signedBy keyPair: SigningKeyPair) throws(WireError) -> [SignedEvent] {
        var result: [SignedEvent] = []
        result.reserveCapacity(events.count)
        var run = 0
        var runBytes = 0
        for (index, event) in events.enumerated() {
            let body = event.encodedBody()
            let length = body.count + SigningPublicKey.signatureByteCount
            if index + 1 < events.count {
                let next = events[index + 1]
                guard next.sequence == event.sequence &+ 1, next.topic == event.topic, next.publisher == event.publisher,
                      next.dependencies.contains(EventID(hashing: body)) else {
                    throw WireError(.invalidValue, """
                        event \(index + 1) of a chain must follow event \(index): the next sequence of the same publisher \
                        and topic, listing its ID as a dependency
                        """)
                }
            }
            if index + 1 == events.count || run == Limits.maximumChainLength || runBytes + length > Limits.maximumChainBytes {
                guard keyPair.publicKey == event.publisher else {
                    throw WireError(.invalidValue, "events are signed by their publisher, not \(keyPair.publicKey.text)")
                }
                result.append(SignedEvent(event: event, body: body, signature: keyPair.signature(for: body)))
                run = 0
                runBytes = 0
            } else {
                result.append(SignedEvent(event: event, body: body, signature: chainedSignature))
                run += 1
                runBytes += length
            }
        }
        return result
    }
}

/// Chained events a receiver already knows to be authentic because an authentic successor named
/// them before they arrived (a successor can overtake its predecessor between brokers). Bounded:
/// when full it forgets everything, and a forgotten event is fetched again by the overlay.
public struct ChainVouchers: Sendable {
    private struct Claim: Hashable, Sendable {
        let topic: TopicID
        let publisher: SigningPublicKey
        let sequence: UInt64
        let id: EventID
    }

    public let capacity: Int
    private var claims: Set<Claim> = []

    public init(capacity: Int = 65_536) {
        self.capacity = capacity
    }

    /// Records what an authentic event vouches for: its predecessor, if one of its dependencies is it.
    /// Which dependency that is cannot be told from IDs, so every dependency is remembered as a
    /// candidate; only one with the right content (topic, publisher, sequence) can ever match.
    public mutating func remember(_ authentic: SignedEvent) {
        guard authentic.event.sequence > 1 else { return }
        if claims.count + authentic.event.dependencies.count > capacity { claims.removeAll() }
        for dependency in authentic.event.dependencies {
            claims.insert(Claim(topic: authentic.event.topic, publisher: authentic.event.publisher,
                                sequence: authentic.event.sequence - 1, id: dependency))
        }
    }

    /// Whether an authentic successor already vouched for `chained`; the claim is used up.
    public mutating func redeem(_ chained: SignedEvent) -> Bool {
        // Empty for a client's connection, which gets its chains in order: no claim to hash.
        guard !claims.isEmpty else { return false }
        return claims.remove(Claim(topic: chained.event.topic, publisher: chained.event.publisher,
                            sequence: chained.event.sequence, id: chained.id)) != nil
    }
}
