import Dispatch
import PolderClient
import Sodium
import Wire

/// Polder's own protocol for the load generator: the Noise handshake, then sealed edge messages.
/// Events are encrypted and signed before the clock starts; every publish is acknowledged after
/// the broker's fsync, so `acknowledged` changes nothing on the wire. Streamed events go as
/// chains (one signature per up to 257 events, protocol §6.4), as a client publishing back to back does.
final class PolderDriver: LoadDriver {
    let port: UInt16
    let topic: TopicID
    private let owner = SigningKeyPair(), reader = SigningKeyPair()
    private let noiseKey = KeyAgreementKeyPair()
    private let ownerProof: IdentityProof, readerProof: IdentityProof
    private let descriptor: SignedTopicDescriptor
    private let access: TopicAccess

    init(port: UInt16, run: String) throws(BenchError) {
        self.port = port
        do {
            let (descriptor, keys) = try NewTopic.make(name: run, owner: owner, openPublishing: false, publishers: [],
                                                       readers: [reader.publicKey])
            self.descriptor = descriptor
            access = TopicAccess(descriptor: descriptor.descriptor, identity: owner, keys: keys)
        } catch {
            throw BenchError("cannot make the Polder topic: \(error)")
        }
        topic = descriptor.descriptor.topic
        ownerProof = IdentityProof(identity: owner, noiseStaticKey: noiseKey.publicKey)
        readerProof = IdentityProof(identity: reader, noiseStaticKey: noiseKey.publicKey)
    }

    func connect(_ role: LoadRole, client: String) throws(BenchError) -> LoadConnection {
        let identity = role == .publisher ? owner : reader
        let channel = SecureChannel(role: .initiator, identity: identity, noiseStaticKey: noiseKey,
                                    proof: role == .publisher ? ownerProof : readerProof)
        let connection = PolderConnection(socket: try LoadSocket(port: port), channel: channel, topic: topic)
        try connection.exchange(try connection.start())
        if role == .publisher {
            try connection.exchange(try connection.sealed(.putTopic(request: 1, descriptor: descriptor)))
        }
        return connection
    }

    func subscribe(_ connection: LoadConnection, durable: String?) throws(BenchError) {
        let connection = connection as! PolderConnection
        connection.acknowledgesDeliveries = durable != nil
        try connection.exchange(try connection.sealed(.subscribe(request: 2, topic: topic, start: durable == nil ? .live : .beginning,
                                                                 durableName: durable ?? "")))
    }

    func leave(_ connection: LoadConnection) throws(BenchError) {
        connection.socket.close()
    }

    func publications(_ numbers: ClosedRange<UInt64>, payload: Int, acknowledged: Bool, streamed: Bool,
                      from publisher: LoadConnection) throws(BenchError) -> [[UInt8]] {
        let plaintext = [UInt8](repeating: 0x61, count: payload)
        let events: [SignedEvent]
        if streamed {
            do {
                events = try access.makeChain(Array(repeating: plaintext, count: numbers.count), firstSequence: numbers.lowerBound,
                                              after: nil, time: 0)
            } catch {
                throw BenchError("cannot make a chain of Polder events: \(error)")
            }
        } else {
            events = try Self.signInParallel(numbers.count) { [access] index throws(BenchError) in
                do { return try access.makeEvent(plaintext, sequence: numbers.lowerBound + UInt64(index), dependencies: [], time: 0) } catch {
                    throw BenchError("cannot make a Polder event: \(error)")
                }
            }
        }
        let connection = publisher as! PolderConnection
        let publishes = events.map { EdgeMessage.publish(request: UInt32(truncatingIfNeeded: $0.event.sequence), event: $0) }
        guard streamed else { return try publishes.map { (message) throws(BenchError) in try connection.sealed(message) } }
        // Back to back, a client's outbox seals what one loop turn queued together (protocol
        // §4.16); here each signed chain segment is sealed together, in as many batch frames as it
        // needs. Its bytes ride with its first event, and the other events of the segment have none
        // of their own.
        var frames: [[UInt8]] = []
        frames.reserveCapacity(events.count)
        var start = 0
        for (index, event) in events.enumerated() where !event.isChained {
            frames.append(try connection.sealed(Array(publishes[start...index])))
            frames += Array(repeating: [], count: index - start)
            start = index + 1
        }
        return frames
    }

    /// Makes `count` events on both cores: signing is the generator's heaviest work.
    static func signInParallel(_ count: Int, _ make: @Sendable (Int) throws(BenchError) -> SignedEvent) throws(BenchError) -> [SignedEvent] {
        let slots = Slots<Result<SignedEvent, BenchError>>(count: count)
        DispatchQueue.concurrentPerform(iterations: 2) { half in
            for index in stride(from: half, to: count, by: 2) {
                slots.set(index, Result { () throws(BenchError) in try make(index) })
            }
        }
        return try slots.values.map { (slot) throws(BenchError) in try slot!.get() }
    }
}

/// Slots filled from several threads, each index by one thread only.
final class Slots<Value>: @unchecked Sendable {
    private(set) var values: [Value?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Value) { values[index] = value }
}

final class PolderConnection: LoadConnection {
    let socket: LoadSocket
    var deliveredDuringSetup = 0
    let topic: TopicID
    private var channel: SecureChannel
    /// Seals as the client library does: batches, the first message announcing them (§4.16).
    private var outbox = EdgeOutbox.client()
    private var pending: [UInt8] = []
    /// Durable subscriptions acknowledge every 1,000th delivery, as a client would in batches.
    var acknowledgesDeliveries = false
    private var deliveriesSinceAck = 0

    init(socket: LoadSocket, channel: SecureChannel, topic: TopicID) {
        self.socket = socket
        self.channel = channel
        self.topic = topic
    }

    func start() throws(BenchError) -> [UInt8] {
        do { return Self.framed(try channel.start()) } catch { throw BenchError("Polder handshake: \(error.message)") }
    }

    /// `message` sealed in this connection's channel and framed; seal in the order of sending.
    func sealed(_ message: EdgeMessage) throws(BenchError) -> [UInt8] {
        try sealed([message])
    }

    /// `messages` sealed as one loop turn of the client library would (batched) and framed, in
    /// the order of sending.
    func sealed(_ messages: [EdgeMessage]) throws(BenchError) -> [UInt8] {
        for message in messages { _ = outbox.append(message.encoded()) }
        let (frames, error) = outbox.seal(with: &channel)
        if let error { throw BenchError("cannot seal: \(error.message)") }
        return frames.flatMap { Self.framed($0) }
    }

    static func framed(_ body: [UInt8]) -> [UInt8] {
        let length = UInt32(body.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + body
    }

    func take(_ bytes: UnsafeRawBufferPointer, into arrivals: inout Arrivals) throws(BenchError) -> [UInt8] {
        pending.append(contentsOf: bytes)
        var reply: [UInt8] = []
        var offset = 0
        while pending.count - offset >= 4 {
            let length = Int(pending[offset]) << 24 | Int(pending[offset + 1]) << 16 | Int(pending[offset + 2]) << 8 | Int(pending[offset + 3])
            guard pending.count - offset - 4 >= length else { break }
            let frame = Array(pending[offset + 4..<offset + 4 + length])
            offset += 4 + length
            let step: SecureChannel.Step
            do { step = try channel.receive(frame) } catch { throw BenchError("Polder secure channel: \(error.message)") }
            switch step {
            case .send(let frames):
                for frame in frames { reply += Self.framed(frame) }
            case .established(_, let frames):
                for frame in frames { reply += Self.framed(frame) }
                arrivals.answers += 1
            case .message(let plaintext):
                let messages: [EdgeMessage]
                do { messages = try EdgeBatch.unpack(plaintext, fromBroker: true).map { (bytes) throws(WireError) in try EdgeMessage.decode(bytes) } } catch {
                    throw BenchError("polderd sent a malformed message: \(error.message)")
                }
                for message in messages {
                switch message {
                case .publishAck:
                    arrivals.acknowledged += 1
                case let .deliver(position, event):
                    arrivals.delivered.append(event.event.sequence)
                    guard acknowledgesDeliveries else { continue }
                    deliveriesSinceAck += 1
                    if deliveriesSinceAck == 1000 {
                        deliveriesSinceAck = 0
                        reply += try sealed(.ack(topic: topic, position: position))
                    }
                case .ok, .subscribed, .topic, .pong:
                    arrivals.answers += 1
                case let .error(_, code, text):
                    throw BenchError("polderd refused (\(code)): \(text)")
                case let .dropped(_, reason, count):
                    throw BenchError("polderd dropped \(count) deliveries: \(reason)")
                default:
                    throw BenchError("polderd sent a client request")
                }
                }
            }
        }
        pending.removeFirst(offset)
        return reply
    }
}
