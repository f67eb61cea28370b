/// The NATS text protocol for the load generator: CONNECT, SUB, PUB, MSG/HMSG, PING/PONG, and
/// JetStream through its request subjects. Acknowledged publishing goes to a file-backed stream;
/// a durable subscriber is a durable push consumer that acknowledges every 1,000th message.
final class NATSDriver: LoadDriver {
    let port: UInt16
    let run: String
    /// The run's stream exists once created; later requests need not create it again.
    private var streamCreated = false
    var subject: String { "bench.\(run)" }
    var stream: String { "BENCH_\(run)" }
    var deliverSubject: String { "bench.deliver.\(run)" }

    init(port: UInt16, run: String) {
        self.port = port
        self.run = run
    }

    func connect(_ role: LoadRole, client: String) throws(BenchError) -> LoadConnection {
        let connection = NATSConnection(socket: try LoadSocket(port: port), inbox: "_INBOX.\(client)")
        try connection.exchange([])  // INFO
        var greeting = #"CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1,"name":"\#(client)"}"# + "\r\n"
        if role != .subscriber {  // an inbox for acknowledgements (sid 2) and JetStream answers (sid 3)
            greeting += "SUB \(connection.inbox).acks 2\r\nSUB \(connection.inbox).api 3\r\n"
        }
        try connection.exchange(Array((greeting + "PING\r\n").utf8))
        return connection
    }

    func subscribe(_ connection: LoadConnection, durable: String?) throws(BenchError) {
        guard let durable else {
            return try connection.exchange(Array("SUB \(subject) 1\r\nPING\r\n".utf8))
        }
        try createStream(on: connection)
        try request("$JS.API.CONSUMER.DURABLE.CREATE.\(stream).\(durable)", """
            {"stream_name":"\(stream)","config":{"durable_name":"\(durable)","deliver_subject":"\(deliverSubject)",\
            "deliver_policy":"all","ack_policy":"all","max_ack_pending":20000,"max_deliver":-1,"replay_policy":"instant"}}
            """, on: connection)
        try connection.exchange(Array("SUB \(deliverSubject) 1\r\nPING\r\n".utf8))
    }

    func leave(_ connection: LoadConnection) throws(BenchError) {
        connection.socket.close()
    }

    func publications(_ numbers: ClosedRange<UInt64>, payload: Int, acknowledged: Bool, streamed: Bool,
                      from publisher: LoadConnection) throws(BenchError) -> [[UInt8]] {
        var head = "PUB \(subject) "
        if acknowledged {
            try createStream(on: publisher)
            head += "\((publisher as! NATSConnection).inbox).acks "
        }
        let line = Array((head + "\(max(8, payload))\r\n").utf8)
        return numbers.map { line + MessageNumber.payload($0, size: payload) + [13, 10] }
    }

    /// A file-backed stream holding the run's subject, created on first need.
    private func createStream(on connection: LoadConnection) throws(BenchError) {
        guard !streamCreated else { return }
        try request("$JS.API.STREAM.CREATE.\(stream)", """
            {"name":"\(stream)","subjects":["\(subject)"],"storage":"file","retention":"limits",\
            "max_msgs":-1,"max_bytes":-1,"discard":"old","num_replicas":1}
            """, on: connection)
        streamCreated = true
    }

    private func request(_ subject: String, _ json: String, on connection: LoadConnection) throws(BenchError) {
        let inbox = (connection as! NATSConnection).inbox
        try connection.exchange(Array("PUB \(subject) \(inbox).api \(json.utf8.count)\r\n\(json)\r\n".utf8))
    }
}

final class NATSConnection: LoadConnection {
    let socket: LoadSocket
    var deliveredDuringSetup = 0
    let inbox: String
    private var pending: [UInt8] = []
    private var deliveriesSinceAck = 0

    init(socket: LoadSocket, inbox: String) {
        self.socket = socket
        self.inbox = inbox
    }

    func take(_ bytes: UnsafeRawBufferPointer, into arrivals: inout Arrivals) throws(BenchError) -> [UInt8] {
        pending.append(contentsOf: bytes)
        var reply: [UInt8] = []
        var offset = 0
        try pending.withBytes { buffer throws(BenchError) in
            while let lineEnd = Self.lineEnd(buffer, from: offset) {
                let line = UnsafeRawBufferPointer(rebasing: buffer[offset..<lineEnd])
                let first = line.first ?? 0
                if first == UInt8(ascii: "M") || first == UInt8(ascii: "H") {  // MSG subject sid [reply] size / HMSG … headers total
                    let fields = Self.fields(line)
                    let headers = first == UInt8(ascii: "H")
                    guard fields.count >= (headers ? 5 : 4) else { throw BenchError("NATS sent a malformed message line") }
                    let size = Self.integer(line, fields[fields.count - 1])
                    let headerSize = headers ? Self.integer(line, fields[fields.count - 2]) : 0
                    let start = lineEnd + 2
                    guard buffer.count >= start + size + 2 else { return }
                    let body = UnsafeRawBufferPointer(rebasing: buffer[start + headerSize..<start + size])
                    let replyField = fields.count == (headers ? 6 : 5) ? fields[3] : nil
                    try receive(sid: Self.integer(line, fields[2]), body: body, line: line, replyField: replyField,
                                into: &arrivals, reply: &reply)
                    offset = start + size + 2
                    continue
                }
                if first == UInt8(ascii: "P") && line.count >= 4 && line[1] == UInt8(ascii: "I") {
                    reply += Array("PONG\r\n".utf8)
                } else if first == UInt8(ascii: "P") || first == UInt8(ascii: "I") {  // PONG, INFO
                    arrivals.answers += 1
                } else if first == UInt8(ascii: "-") {
                    throw BenchError("NATS said: \(String(decoding: line, as: UTF8.self))")
                }  // +OK
                offset = lineEnd + 2
            }
        }
        pending.removeFirst(offset)
        return reply
    }

    private func receive(sid: Int, body: UnsafeRawBufferPointer, line: UnsafeRawBufferPointer, replyField: Range<Int>?,
                         into arrivals: inout Arrivals, reply: inout [UInt8]) throws(BenchError) {
        switch sid {
        case 1:
            guard !body.isEmpty else { return }  // a JetStream status message (heartbeat), not a delivery
            arrivals.delivered.append(MessageNumber.read(body))
            guard let replyField else { return }
            deliveriesSinceAck += 1
            if deliveriesSinceAck == 1000 {  // ack policy "all": one acknowledgement covers everything before
                deliveriesSinceAck = 0
                reply += Array("PUB ".utf8) + Array(UnsafeRawBufferPointer(rebasing: line[replyField])) + Array(" 0\r\n\r\n".utf8)
            }
        case 2, 3:
            if Self.contains(body, #""error""#) {
                throw BenchError("NATS JetStream refused: \(String(decoding: body, as: UTF8.self))")
            }
            if sid == 2 { arrivals.acknowledged += 1 } else { arrivals.answers += 1 }
        default:
            throw BenchError("NATS sent a message for unknown subscription \(sid)")
        }
    }

    private static func lineEnd(_ buffer: UnsafeRawBufferPointer, from offset: Int) -> Int? {
        var index = offset
        while index + 1 < buffer.count {
            if buffer[index] == 13 && buffer[index + 1] == 10 { return index }
            index += 1
        }
        return nil
    }

    /// The space-separated fields of a protocol line, as ranges into it.
    private static func fields(_ line: UnsafeRawBufferPointer) -> [Range<Int>] {
        var fields: [Range<Int>] = []
        var start = 0
        for index in 0...line.count where index == line.count || line[index] == 32 {
            if index > start { fields.append(start..<index) }
            start = index + 1
        }
        return fields
    }

    private static func integer(_ line: UnsafeRawBufferPointer, _ field: Range<Int>) -> Int {
        var value = 0
        for index in field { value = value * 10 + Int(line[index] &- 48) }
        return value
    }

    private static func contains(_ body: UnsafeRawBufferPointer, _ text: String) -> Bool {
        let needle = Array(text.utf8)
        guard body.count >= needle.count else { return false }
        return (0...body.count - needle.count).contains { start in needle.indices.allSatisfy { body[start + $0] == needle[$0] } }
    }
}
