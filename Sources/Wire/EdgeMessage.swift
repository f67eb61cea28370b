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
    case subscribe(request: UInt32, topic: TopicID)
    case unsubscribe(request: UInt32, topic: TopicID)
    case publish(request: UInt32, event: SignedEvent)
    case putTopic(request: UInt32, descriptor: SignedTopicDescriptor)
    case getTopic(request: UInt32, topic: TopicID)
    case ping(nonce: UInt64)
    // Broker → client.
    case ok(request: UInt32)
    case publishAck(request: UInt32, eventID: EventID)
    case topic(request: UInt32, descriptor: SignedTopicDescriptor, head: PublisherHead?)
    case deliver(event: SignedEvent)
    case error(request: UInt32, code: ErrorCode, text: String)
    case pong(nonce: UInt64)

    enum Tag: UInt8 {
        case subscribe = 0x01, unsubscribe = 0x02, publish = 0x03, putTopic = 0x04, getTopic = 0x05, ping = 0x06
        case ok = 0x81, publishAck = 0x82, topic = 0x83, deliver = 0x84, error = 0x85, pong = 0x86
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter()
        switch self {
        case let .subscribe(request, topic):
            writer.u8(Tag.subscribe.rawValue); writer.u32(request); writer.raw(topic.bytes)
        case let .unsubscribe(request, topic):
            writer.u8(Tag.unsubscribe.rawValue); writer.u32(request); writer.raw(topic.bytes)
        case let .publish(request, event):
            writer.u8(Tag.publish.rawValue); writer.u32(request); writer.bytes32(event.encoded)
        case let .putTopic(request, descriptor):
            writer.u8(Tag.putTopic.rawValue); writer.u32(request); writer.bytes32(descriptor.encoded)
        case let .getTopic(request, topic):
            writer.u8(Tag.getTopic.rawValue); writer.u32(request); writer.raw(topic.bytes)
        case let .ping(nonce):
            writer.u8(Tag.ping.rawValue); writer.u64(nonce)
        case let .ok(request):
            writer.u8(Tag.ok.rawValue); writer.u32(request)
        case let .publishAck(request, eventID):
            writer.u8(Tag.publishAck.rawValue); writer.u32(request); writer.raw(eventID.bytes)
        case let .topic(request, descriptor, head):
            writer.u8(Tag.topic.rawValue); writer.u32(request); writer.bytes32(descriptor.encoded)
            if let head {
                writer.u8(1); writer.u64(head.sequence); writer.raw(head.eventID.bytes)
            } else {
                writer.u8(0)
            }
        case let .deliver(event):
            writer.u8(Tag.deliver.rawValue); writer.bytes32(event.encoded)
        case let .error(request, code, text):
            writer.u8(Tag.error.rawValue); writer.u32(request); writer.u16(code.rawValue)
            writer.string16(Self.truncated(text, toUTF8Bytes: Limits.maximumErrorTextLength))
        case let .pong(nonce):
            writer.u8(Tag.pong.rawValue); writer.u64(nonce)
        }
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
        var reader = ByteReader(bytes)
        let tagByte = try reader.u8("message tag")
        guard let tag = Tag(rawValue: tagByte) else { throw WireError(.unsupported, "unknown message tag 0x\(Hex.encode([tagByte]))") }
        let message: EdgeMessage
        switch tag {
        case .subscribe:
            message = .subscribe(request: try reader.u32("request"), topic: try reader.signingKey("topic"))
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
        case .ok:
            message = .ok(request: try reader.u32("request"))
        case .publishAck:
            message = .publishAck(request: try reader.u32("request"), eventID: try EventID(try reader.raw(32, "event ID")))
        case .topic:
            let request = try reader.u32("request")
            let descriptor = try SignedTopicDescriptor.decode(try reader.bytes32("descriptor", limit: Limits.maximumDescriptorLength))
            let hasHead = try reader.u8("head flag")
            var head: PublisherHead?
            switch hasHead {
            case 0: head = nil
            case 1: head = PublisherHead(sequence: try reader.u64("head sequence"), eventID: try EventID(try reader.raw(32, "head event ID")))
            default: throw WireError(.invalidValue, "head flag must be 0 or 1")
            }
            message = .topic(request: request, descriptor: descriptor, head: head)
        case .deliver:
            message = .deliver(event: try SignedEvent.decode(try reader.bytes32("event", limit: Limits.maximumEventLength)))
        case .error:
            let request = try reader.u32("request")
            let rawCode = try reader.u16("error code")
            let text = try reader.string16("error text", limit: Limits.maximumErrorTextLength)
            // Unknown codes from a newer peer still carry their text.
            message = .error(request: request, code: ErrorCode(rawValue: rawCode) ?? .unsupported, text: text)
        case .pong:
            message = .pong(nonce: try reader.u64("nonce"))
        }
        try reader.expectEnd("message")
        return message
    }
}
