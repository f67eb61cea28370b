/// What one read from a broker brought: deliveries (by message number), acknowledgements of this
/// connection's publishes, and answers to its setup requests.
struct Arrivals {
    var delivered: [UInt64] = []
    var acknowledged = 0
    var answers = 0
}

/// One connection from the load generator to a broker, speaking that broker's protocol.
protocol LoadConnection: AnyObject {
    var socket: LoadSocket { get }
    /// Deliveries that arrived while a setup request waited for its answer (a persistent MQTT
    /// session replays right after CONNACK); the receiver counts them first.
    var deliveredDuringSetup: Int { get set }
    /// Parses bytes read from the socket into `arrivals`; returns the bytes the protocol requires
    /// in reply (acknowledgements of deliveries, pongs), empty when none.
    func take(_ bytes: UnsafeRawBufferPointer, into arrivals: inout Arrivals) throws(BenchError) -> [UInt8]
}

extension LoadConnection {
    /// Sends `request` and reads until `answers` answers have come: the blocking path for setup.
    func exchange(_ request: [UInt8], answers: Int = 1, timeout: Double = 10) throws(BenchError) {
        if !request.isEmpty { try socket.write(request) }
        var arrivals = Arrivals()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
        defer { buffer.deallocate() }
        while arrivals.answers < answers {
            let count = try socket.read(into: buffer, timeout: timeout)
            let reply = try take(UnsafeRawBufferPointer(rebasing: buffer[..<count]), into: &arrivals)
            if !reply.isEmpty { try socket.write(reply) }
        }
        deliveredDuringSetup += arrivals.delivered.count
    }
}

/// What a connection is for: the publisher of a run, one of its subscribers, or the subscriber
/// whose durable subscription outlives its connection (MQTT must know at CONNECT).
enum LoadRole {
    case publisher, subscriber, durableSubscriber
}

/// A broker's protocol as the scenarios use it: connections, one topic per run, and publications
/// encoded before the clock starts, so that the generator's own work stays off the measurement.
protocol LoadDriver {
    /// Connects and completes the protocol's greeting; `client` is unique within the run.
    func connect(_ role: LoadRole, client: String) throws(BenchError) -> LoadConnection
    /// Subscribes to the run's topic; a `durable` name makes a subscription that keeps collecting
    /// while its connection is away. Returns once the broker confirmed it.
    func subscribe(_ connection: LoadConnection, durable: String?) throws(BenchError)
    /// Ends a connection politely, leaving its durable subscription behind.
    func leave(_ connection: LoadConnection) throws(BenchError)
    /// The bytes that publish messages `numbers` (counted from 1 in each run) of `payload` bytes;
    /// `acknowledged` asks for the broker's durable acknowledgement of each. `streamed` says they
    /// go out back to back, so per-message work may be shared among them (Polder signs a chain
    /// once); otherwise each is sent on its own (latency, one in flight) and must stand alone.
    func publications(_ numbers: ClosedRange<UInt64>, payload: Int, acknowledged: Bool, streamed: Bool,
                      from publisher: LoadConnection) throws(BenchError) -> [[UInt8]]
}

/// Message numbers ride in the first 8 bytes (little-endian) of MQTT and NATS payloads.
enum MessageNumber {
    static func payload(_ number: UInt64, size: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0x61, count: max(8, size))
        withUnsafeBytes(of: number.littleEndian) { for index in 0..<8 { bytes[index] = $0[index] } }
        return bytes
    }

    static func read(_ payload: UnsafeRawBufferPointer) -> UInt64 {
        guard payload.count >= 8 else { return 0 }
        return UInt64(littleEndian: payload.loadUnaligned(as: UInt64.self))
    }
}

extension [UInt8] {
    /// `withUnsafeBytes` that keeps the body's error type.
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws(BenchError) -> Result) throws(BenchError) -> Result {
        let outcome = withUnsafeBytes { buffer in Swift.Result { () throws(BenchError) in try body(buffer) } }
        return try outcome.get()
    }
}
