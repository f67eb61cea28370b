/// MQTT 3.1.1 for the load generator: CONNECT, SUBSCRIBE, PUBLISH at QoS 0 and 1, PUBACK and
/// DISCONNECT, enough to drive Mosquitto. Acknowledged publishing is QoS 1; a durable subscriber
/// is a persistent session (clean session off) subscribed at QoS 1.
struct MQTTDriver: LoadDriver {
    let port: UInt16
    let topic: [UInt8]

    init(port: UInt16, run: String) {
        self.port = port
        topic = Array("bench/\(run)".utf8)
    }

    func connect(_ role: LoadRole, client: String) throws(BenchError) -> LoadConnection {
        let connection = MQTTConnection(socket: try LoadSocket(port: port))
        var body: [UInt8] = MQTTPacket.string(Array("MQTT".utf8)) + [4]  // protocol level 4: 3.1.1
        body.append(role == .durableSubscriber ? 0x00 : 0x02)  // clean session unless durable
        body += [0, 0]  // no keep-alive: runs are short and the generator never idles that long
        body += MQTTPacket.string(Array(client.utf8))
        try connection.exchange(MQTTPacket.make(0x10, body))
        return connection
    }

    func subscribe(_ connection: LoadConnection, durable: String?) throws(BenchError) {
        let body = [0, 1] + MQTTPacket.string(topic) + [durable == nil ? 0 : 1]
        try connection.exchange(MQTTPacket.make(0x82, body))
    }

    func leave(_ connection: LoadConnection) throws(BenchError) {
        try connection.socket.write([0xE0, 0x00])
        connection.socket.close()
    }

    func publications(_ numbers: ClosedRange<UInt64>, payload: Int, acknowledged: Bool, streamed: Bool,
                      from publisher: LoadConnection) throws(BenchError) -> [[UInt8]] {
        let topicField = MQTTPacket.string(topic)
        return numbers.map { number in
            if acknowledged {
                let packet = UInt16(truncatingIfNeeded: (number - 1) % 65_535 + 1)
                return MQTTPacket.make(0x32, topicField + [UInt8(packet >> 8), UInt8(packet & 0xff)] + MessageNumber.payload(number, size: payload))
            }
            return MQTTPacket.make(0x30, topicField + MessageNumber.payload(number, size: payload))
        }
    }
}

/// MQTT's framing: a type byte, the remaining length as a base-128 varint, then the body.
enum MQTTPacket {
    static func make(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
        var packet: [UInt8] = [type]
        var length = body.count
        repeat {
            var byte = UInt8(length % 128)
            length /= 128
            if length > 0 { byte |= 0x80 }
            packet.append(byte)
        } while length > 0
        return packet + body
    }

    static func string(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xff)] + bytes
    }
}

final class MQTTConnection: LoadConnection {
    let socket: LoadSocket
    var deliveredDuringSetup = 0
    private var pending: [UInt8] = []

    init(socket: LoadSocket) {
        self.socket = socket
    }

    func take(_ bytes: UnsafeRawBufferPointer, into arrivals: inout Arrivals) throws(BenchError) -> [UInt8] {
        pending.append(contentsOf: bytes)
        var reply: [UInt8] = []
        var offset = 0
        try pending.withBytes { buffer throws(BenchError) in
            while true {
                // Fixed header: type byte and a varint of up to four bytes.
                var length = 0, multiplier = 1, index = offset + 1
                var complete = false
                while index < buffer.count && index <= offset + 4 {
                    let byte = Int(buffer[index])
                    length += (byte & 0x7f) * multiplier
                    multiplier *= 128
                    index += 1
                    if byte & 0x80 == 0 { complete = true; break }
                }
                guard complete, buffer.count - index >= length else { return }
                let type = buffer[offset]
                let body = UnsafeRawBufferPointer(rebasing: buffer[index..<index + length])
                switch type & 0xf0 {
                case 0x30:  // PUBLISH
                    let quality = (type >> 1) & 3
                    guard body.count >= 2 else { throw BenchError("Mosquitto sent a truncated PUBLISH") }
                    var position = 2 + (Int(body[0]) << 8 | Int(body[1]))
                    if quality > 0 {
                        guard body.count >= position + 2 else { throw BenchError("Mosquitto sent a truncated PUBLISH") }
                        reply += [0x40, 0x02, body[position], body[position + 1]]
                        position += 2
                    }
                    guard position <= body.count else { throw BenchError("Mosquitto sent a truncated PUBLISH") }
                    arrivals.delivered.append(MessageNumber.read(UnsafeRawBufferPointer(rebasing: body[position...])))
                case 0x40:  // PUBACK
                    arrivals.acknowledged += 1
                case 0x20:  // CONNACK
                    guard body.count >= 2, body[1] == 0 else { throw BenchError("Mosquitto refused the connection (CONNACK code \(body.count >= 2 ? body[1] : 255))") }
                    arrivals.answers += 1
                case 0x90:  // SUBACK
                    guard body.count >= 3, body[2] != 0x80 else { throw BenchError("Mosquitto refused the subscription") }
                    arrivals.answers += 1
                case 0xD0:  // PINGRESP
                    arrivals.answers += 1
                default:
                    throw BenchError("Mosquitto sent an unexpected packet type \(type >> 4)")
                }
                offset = index + length
            }
        }
        pending.removeFirst(offset)
        return reply
    }
}
