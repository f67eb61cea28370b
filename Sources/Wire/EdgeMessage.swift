import Sodium

/// What a publisher last published on a topic, as the broker knows it.
public struct PublisherHead: Sendable, Equatable {
    public let sequence: UInt64
    public let eventID: EventID

    public init(sequence: UInt64, eventID: EventID) {
        self.sequence = sequence
        self.eventID = eventID
    }
}

/// Every message between an edge client and its broker, carried one per transport frame
/// (protocol/README.md, "Edge messages"). Requests carry a client-chosen `request` number that the
/// answer echoes; request 0 in an error means the connection as a whole.
public enum EdgeMessage: Sendable, Equatable {
    // Client → broker.
    /// `durableName` empty: a subscription for this connection only; otherwise the durable session
    /// of that name (per client identity and topic), created or resumed.
    case subscribe(request: UInt32, topic: TopicID, start: SubscriptionStart, durableName: String)
    case unsubscribe(request: UInt32, topic: TopicID)
    case publish(request: UInt32, event: SignedEvent)
    case putTopic(request: UInt32, descriptor: SignedTopicDescriptor)
    case getTopic(request: UInt32, topic: TopicID)
    case ping(nonce: UInt64)
    /// Everything up to `position` on `topic` is processed; a durable session's cursor moves there.
    case ack(topic: TopicID, position: UInt64)
    // Broker → client.
    case ok(request: UInt32)
    case publishAck(request: UInt32, eventID: EventID)
    case topic(request: UInt32, descriptor: SignedTopicDescriptor, head: PublisherHead?)
    case deliver(position: UInt64, event: SignedEvent)
    case error(request: UInt32, code: ErrorCode, text: String)
    case pong(nonce: UInt64)
    /// The subscription is in place; `position` is where delivery starts, `resumed` says whether an
    /// existing durable session was picked up.
    case subscribed(request: UInt32, resumed: Bool, position: UInt64)
    /// `count` events on `topic` were dropped for `reason` before the next delivery.
    case dropped(topic: TopicID, reason: DropReason, count: UInt64)

    enum Tag: UInt8 {
        case subscribe = 0x01, unsubscribe = 0x02, publish = 0x03, putTopic = 0x04, getTopic = 0x05, ping = 0x06, ack = 0x07
        case ok = 0x81, publishAck = 0x82, topic = 0x83, deliver = 0x84, error = 0x85, pong = 0x86, subscribed = 0x87
        case dropped = 0x88
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter()
        switch self {
        case let .subscribe(request, topic, start, durableName):
            writer.u8(Tag.subscribe.rawValue); writer.u32(request); writer.raw(topic.raw)
            switch start {
            case .live: writer.u8(SubscriptionStart.Kind.live.rawValue)
            case .beginning: writer.u8(SubscriptionStart.Kind.beginning.rawValue)
            case .position(let position): writer.u8(SubscriptionStart.Kind.position.rawValue); writer.u64(position)
            case .time(let time): writer.u8(SubscriptionStart.Kind.time.rawValue); writer.u64(time)
            }
            writer.string16(durableName)
        case let .unsubscribe(request, topic):
            writer.u8(Tag.unsubscribe.rawValue); writer.u32(request); writer.raw(topic.raw)
        case let .publish(request, event):
            writer.u8(Tag.publish.rawValue); writer.u32(request); writer.bytes32(event.encoded)
        case let .putTopic(request, descriptor):
            writer.u8(Tag.putTopic.rawValue); writer.u32(request); writer.bytes32(descriptor.encoded)
        case let .getTopic(request, topic):
            writer.u8(Tag.getTopic.rawValue); writer.u32(request); writer.raw(topic.raw)
        case let .ping(nonce):
            writer.u8(Tag.ping.rawValue); writer.u64(nonce)
        case let .ack(topic, position):
            writer.u8(Tag.ack.rawValue); writer.raw(topic.raw); writer.u64(position)
        case let .ok(request):
            writer.u8(Tag.ok.rawValue); writer.u32(request)
        case let .publishAck(request, eventID):
            writer.u8(Tag.publishAck.rawValue); writer.u32(request); writer.raw(eventID.raw)
        case let .topic(request, descriptor, head):
            writer.u8(Tag.topic.rawValue); writer.u32(request); writer.bytes32(descriptor.encoded)
            if let head {
                writer.u8(1); writer.u64(head.sequence); writer.raw(head.eventID.raw)
            } else {
                writer.u8(0)
            }
        case let .deliver(position, event):
            return Self.deliver(position: position, encodedEvent: event.encoded)
        case let .error(request, code, text):
            writer.u8(Tag.error.rawValue); writer.u32(request); writer.u16(code.rawValue)
            writer.string16(Self.truncated(text, toUTF8Bytes: Limits.maximumErrorTextLength))
        case let .pong(nonce):
            writer.u8(Tag.pong.rawValue); writer.u64(nonce)
        case let .subscribed(request, resumed, position):
            writer.u8(Tag.subscribed.rawValue); writer.u32(request); writer.u8(resumed ? 1 : 0); writer.u64(position)
        case let .dropped(topic, reason, count):
            writer.u8(Tag.dropped.rawValue); writer.raw(topic.raw); writer.u8(reason.rawValue); writer.u64(count)
        }
        return writer.bytes
    }

    /// A `deliver` message built straight from a stored event's bytes, without decoding them.
    public static func deliver(position: UInt64, encodedEvent: [UInt8]) -> [UInt8] {
        var writer = ByteWriter(capacity: 13 + encodedEvent.count)
        writer.u8(Tag.deliver.rawValue); writer.u64(position)
        writer.u32(UInt32(encodedEvent.count)); writer.raw(encodedEvent)
        return writer.bytes
    }

    /// The longest prefix of `text` of whole characters that fits in `limit` UTF-8 bytes.
    static func truncated(_ text: String, toUTF8Bytes limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var result = ""
        var length = 0
        for character in text {
            length += character.utf8.count
            if length > limit { break }
            result.append(character)
        }
        return result
    }

    /// Parses one message; structure and limits are checked, signatures are not.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> EdgeMessage {
        try decode(bytes[...])
    }

    /// Decodes a message inside a batch, where it is a slice of the batch's plaintext.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(WireError) -> EdgeMessage {
        var reader = ByteReader(bytes)
        let tagByte = try reader.u8("message tag")
        guard let tag = Tag(rawValue: tagByte) else { throw WireError(.unsupported, "unknown message tag 0x\(Hex.encode([tagByte]))") }
        let message: EdgeMessage
        switch tag {
        case .subscribe:
            let request = try reader.u32("request")
            let topic = try reader.signingKey("topic")
            let kind = try reader.u8("start kind")
            let start: SubscriptionStart
            switch SubscriptionStart.Kind(rawValue: kind) {
            case .live: start = .live
            case .beginning: start = .beginning
            case .position: start = .position(try reader.u64("start position"))
            case .time: start = .time(try reader.u64("start time"))
            case nil: throw WireError(.invalidValue, "unknown subscription start kind \(kind)")
            }
            let name = try reader.string16("durable name", limit: Limits.maximumSessionNameLength)
            message = .subscribe(request: request, topic: topic, start: start, durableName: name)
        case .unsubscribe:
            message = .unsubscribe(request: try reader.u32("request"), topic: try reader.signingKey("topic"))
        case .publish:
            let request = try reader.u32("request")
            message = .publish(request: request, event: try SignedEvent.decode(try reader.bytes32("event", limit: Limits.maximumEventLength)))
        case .putTopic:
            let request = try reader.u32("request")
            message = .putTopic(request: request, descriptor: try SignedTopicDescriptor.decode(
                try reader.bytes32("descriptor", limit: Limits.maximumDescriptorLength)))
        case .getTopic:
            message = .getTopic(request: try reader.u32("request"), topic: try reader.signingKey("topic"))
        case .ping:
            message = .ping(nonce: try reader.u64("nonce"))
        case .ack:
            message = .ack(topic: try reader.signingKey("topic"), position: try reader.u64("position"))
        case .ok:
            message = .ok(request: try reader.u32("request"))
        case .publishAck:
            message = .publishAck(request: try reader.u32("request"), eventID: try reader.eventID("event ID"))
        case .topic:
            let request = try reader.u32("request")
            let descriptor = try SignedTopicDescriptor.decode(try reader.bytes32("descriptor", limit: Limits.maximumDescriptorLength))
            let hasHead = try reader.u8("head flag")
            var head: PublisherHead?
            switch hasHead {
            case 0: head = nil
            case 1: head = PublisherHead(sequence: try reader.u64("head sequence"), eventID: try reader.eventID("head event ID"))
            default: throw WireError(.invalidValue, "head flag must be 0 or 1")
            }
            message = .topic(request: request, descriptor: descriptor, head: head)
        case .deliver:
            let position = try reader.u64("position")
            message = .deliver(position: position, event: try SignedEvent.decode(try reader.bytes32("event", limit: Limits.maximumEventLength)))
        case .error:
            let request = try reader.u32("request")
            let rawCode = try reader.u16("error code")
            let text = try reader.string16("error text", limit: Limits.maximumErrorTextLength)
            // Unknown codes from a newer peer still carry their text.
            message = .error(request: request, code: ErrorCode(rawValue: rawCode) ?? .unsupported, text: text)
        case .pong:
            message = .pong(nonce: try reader.u64("nonce"))
        case .subscribed:
            let request = try reader.u32("request")
            let resumed = try reader.u8("resumed flag")
            guard resumed <= 1 else { throw WireError(.invalidValue, "resumed flag must be 0 or 1") }
            message = .subscribed(request: request, resumed: resumed == 1, position: try reader.u64("position"))
        case .dropped:
            let topic = try reader.signingKey("topic")
            let rawReason = try reader.u8("drop reason")
            guard let reason = DropReason(rawValue: rawReason) else { throw WireError(.invalidValue, "unknown drop reason \(rawReason)") }
            message = .dropped(topic: topic, reason: reason, count: try reader.u64("count"))
        }
        try reader.expectEnd("message")
        return message
    }
}
