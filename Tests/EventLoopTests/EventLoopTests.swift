@testable import EventLoop
import Platform
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Collects values from the loop thread for the test to inspect.
final class Box<Value>: @unchecked Sendable {
    private let lock = PthreadMutex()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
    func mutate(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}

/// Polls `condition` until it holds or `seconds` pass.
func eventually(_ seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}

@Suite struct EventLoopTests {
    @Test func executeRunsOnTheLoopThreadInOrder() async throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let seen = Box<[Int]>([])
        let onLoop = Box(true)
        for index in 0..<100 {
            loop.execute {
                if !loop.inEventLoop { onLoop.value = false }
                seen.mutate { $0.append(index) }
            }
        }
        #expect(await eventually { seen.value.count == 100 })
        #expect(seen.value == Array(0..<100))
        #expect(onLoop.value)
        #expect(!loop.inEventLoop)
    }

    @Test func timersFireOnceOrRepeatedlyAndCancel() async throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let fired = Box((once: 0, repeating: 0, cancelled: 0))
        let timers = Box<[Timer]>([])
        loop.execute {
            let once = Timer(loop: loop) { fired.mutate { $0.once += 1 } }
            once.schedule(after: 0.01)
            let repeating = Timer(loop: loop, repeating: true) { fired.mutate { $0.repeating += 1 } }
            repeating.schedule(after: 0.01)
            let cancelled = Timer(loop: loop) { fired.mutate { $0.cancelled += 1 } }
            cancelled.schedule(after: 0.02)
            cancelled.cancel()
            timers.value = [once, repeating, cancelled]
        }
        #expect(await eventually { fired.value.repeating >= 3 })
        try await Task.sleep(for: .milliseconds(50))
        #expect(fired.value.once == 1)
        #expect(fired.value.cancelled == 0)
        loop.execute { timers.value = [] }
    }

    @Test func addressesParseAndFailClearly() throws {
        #expect(try SocketAddress("127.0.0.1:7400").port == 7400)
        #expect(try SocketAddress("localhost:80").port == 80)
        #expect(throws: EventLoopError.self) { try SocketAddress("no-port") }
        #expect(throws: EventLoopError.self) { try SocketAddress("127.0.0.1:99999") }
    }

    /// An address keeps no text of its own: it is written out, numerically, when asked for.
    @Test func addressesAreWrittenOutNumerically() throws {
        #expect(try SocketAddress("127.0.0.1:7400").text == "127.0.0.1:7400")
        #expect(try SocketAddress("[::1]:7400").text == "[::1]:7400")
        #expect(try SocketAddress("[::1]:7400").port == 7400)
        let local = try SocketAddress("localhost:80").text
        #expect(local == "127.0.0.1:80" || local == "[::1]:80")
    }
}

@Suite struct ConnectionTests {
    /// A listener that keeps accepted connections and records their frames and close reasons.
    final class Server: ConnectionDelegate, @unchecked Sendable {
        let loop: EventLoop
        var listener: Listener?
        var connections: [Connection] = []
        let frames = Box<[[UInt8]]>([])
        let closes = Box<[Connection.CloseReason]>([])
        let overflows = Box(0)
        let drains = Box(0)
        /// Runs on the loop after each frame is recorded, with the number recorded so far.
        var onFrame: (Connection, Int) -> Void = { _, _ in }
        /// Runs on the loop after each drain is counted.
        var onDrained: (Connection) -> Void = { _ in }

        init(options: Connection.Options) async throws {
            loop = try EventLoop.startThread()
            let ready = Box<Int?>(nil)
            let failure = Box<String?>(nil)
            loop.execute { [self] in
                do {
                    let listener = try Listener(loop: loop, address: try SocketAddress("127.0.0.1:0")) { [self] socket, peer in
                        let connection = Connection(loop: loop, socket: socket, peer: peer, options: options)
                        connection.delegate = self
                        connections.append(connection)
                    }
                    self.listener = listener
                    ready.value = Int(listener.localAddress.port)
                } catch { failure.value = "\(error)" }
            }
            _ = await eventually { ready.value != nil || failure.value != nil }
            if let message = failure.value { throw EventLoopError(message) }
            port = ready.value!
        }

        private(set) var port = 0

        func connection(_ connection: Connection, received frame: [UInt8]) {
            var count = 0
            frames.mutate { $0.append(frame); count = $0.count }
            onFrame(connection, count)
        }

        func connection(_ connection: Connection, closedBecause reason: Connection.CloseReason) {
            closes.mutate { $0.append(reason) }
        }

        func connectionOverflowed(_ connection: Connection) {
            overflows.mutate { $0 += 1 }
        }

        func connectionDrained(_ connection: Connection) {
            drains.mutate { $0 += 1 }
            onDrained(connection)
        }

        func stop() {
            loop.execute { [self] in
                connections.forEach { $0.close() }
                connections = []
                listener = nil
                loop.stop()
            }
        }
    }

    /// A plain client socket for writing raw bytes.
    final class RawClient: ConnectionDelegate, @unchecked Sendable {
        let loop: EventLoop
        var connection: Connection?
        let connected = Box<Bool?>(nil)
        let frames = Box<[[UInt8]]>([])
        let closed = Box<Connection.CloseReason?>(nil)
        /// Whether received frames are kept in `frames` (a client that only keeps up does not).
        var keepsFrames = true

        init(port: Int, options: Connection.Options = .init(maximumFrameLength: 1 << 20)) async throws {
            loop = try EventLoop.startThread()
            loop.execute { [self] in
                let connection = Connection(loop: loop, connectingTo: try! SocketAddress("127.0.0.1:\(port)"), options: options) { [self] error in
                    connected.value = error == nil
                }
                connection.delegate = self
                self.connection = connection
            }
            _ = await eventually { connected.value != nil }
        }

        func connection(_ connection: Connection, received frame: [UInt8]) {
            if keepsFrames { frames.mutate { $0.append(frame) } }
        }

        func connection(_ connection: Connection, closedBecause reason: Connection.CloseReason) {
            closed.value = reason
        }

        func send(_ body: [UInt8]) { loop.execute { [self] in connection?.send(frame: body) } }

        func stop() {
            loop.execute { [self] in
                connection?.close()
                connection = nil
                loop.stop()
            }
        }
    }

    @Test func framesArriveWholeAndInOrder() async throws {
        let server = try await Server(options: .init(maximumFrameLength: 100_000))
        defer { server.stop() }
        let client = try await RawClient(port: server.port)
        defer { client.stop() }
        #expect(client.connected.value == true)
        let bodies: [[UInt8]] = [[], [1], [UInt8](repeating: 7, count: 70_000), [2, 3]]
        for body in bodies { client.send(body) }
        #expect(await eventually { server.frames.value.count == bodies.count })
        #expect(server.frames.value == bodies)
    }

    @Test func framesQueuedTogetherAndAloneInOneTurnArriveInOrderAndAreCounted() async throws {
        let server = try await Server(options: .init(maximumFrameLength: 100_000))
        defer { server.stop() }
        let client = try await RawClient(port: server.port)
        defer { client.stop() }
        let together: [[UInt8]] = [[1], [UInt8](repeating: 7, count: 70_000), [], [UInt8](repeating: 8, count: 30_000)]
        client.loop.execute {
            client.connection?.traffic = TrafficTally()
            client.connection?.send(frame: [0])
            client.connection?.send(frames: together)
            client.connection?.send(frames: [])
            client.connection?.send(frame: [9, 9])
        }
        let expected = [[0]] + together + [[9, 9]]
        #expect(await eventually { server.frames.value.count == expected.count })
        #expect(server.frames.value == expected)
        let counted = Box<(UInt64, UInt64)>((0, 0))
        client.loop.execute {
            if let tally = client.connection?.traffic { counted.value = (tally.framesSent, tally.bytesSent) }
        }
        #expect(await eventually { counted.value.0 != 0 })
        #expect(counted.value == (UInt64(expected.count), UInt64(expected.reduce(0) { $0 + 4 + $1.count })))
    }

    @Test func oversizedLengthPrefixClosesBeforeBuffering() async throws {
        let server = try await Server(options: .init(maximumFrameLength: 1000))
        defer { server.stop() }
        let client = try await RawClient(port: server.port)
        defer { client.stop() }
        client.send([UInt8](repeating: 0, count: 1001))
        #expect(await eventually { !server.closes.value.isEmpty })
        #expect(server.closes.value == [.frameTooLarge(length: 1001, limit: 1000)])
        #expect(server.frames.value.isEmpty)
        #expect(await eventually { client.closed.value != nil })
    }

    @Test func connectFailureIsReported() async throws {
        // Find a port with nothing listening: bind one, then close it.
        let server = try await Server(options: .init(maximumFrameLength: 10))
        let port = server.port
        server.stop()
        try await Task.sleep(for: .milliseconds(50))
        let client = try await RawClient(port: port)
        defer { client.stop() }
        #expect(client.connected.value == false)
    }

    @Test func outputOverflowIsSignalledForAPeerThatDoesNotRead() async throws {
        let server = try await Server(options: .init(maximumFrameLength: 100_000, outputLimit: 1 << 20))
        defer { server.stop() }
        // The client's loop thread reads, but the server queues far faster than loopback drains.
        let client = try await RawClient(port: server.port)
        defer { client.stop() }
        _ = await eventually { !server.connections.isEmpty }
        server.loop.execute {
            let target = server.connections[0]
            for _ in 0..<400 { target.send(frame: [UInt8](repeating: 1, count: 60_000)) }
            target.notifyWhenDrained()
        }
        #expect(await eventually { server.overflows.value > 0 })
        // The client reads it all in the end: the queue drains to the low-water mark (0), once.
        #expect(await eventually(10) { server.drains.value > 0 })
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.drains.value == 1)
    }

    /// End-of-turn work runs once the turn's queued work and writes are done: what the turn sent
    /// is on the wire before it runs.
    @Test func endOfTurnWorkRunsAfterTheTurnsWrites() async throws {
        let server = try await Server(options: .init(maximumFrameLength: 100_000))
        defer { server.stop() }
        let order = Box<[String]>([])
        server.onFrame = { connection, _ in
            connection.loop.runAtEndOfTurn {
                order.mutate { $0.append("end of turn, \(connection.queuedOutput) bytes queued") }
            }
            connection.loop.runAfterCurrentCallbacks {
                order.mutate { $0.append("after callbacks") }
                connection.send(frame: [7])
            }
        }
        let client = try await RawClient(port: server.port)
        defer { client.stop() }
        client.send([1])
        #expect(await eventually { client.frames.value == [[7]] })
        #expect(await eventually { order.value.count == 2 })
        #expect(order.value == ["after callbacks", "end of turn, 0 bytes queued"])
    }

    /// Drains are reported only when asked for: output that drains unasked costs no report (and
    /// no write event); a request while nothing is queued is answered in a later loop pass.
    @Test func aDrainIsReportedOnlyWhenAskedFor() async throws {
        let server = try await Server(options: .init(maximumFrameLength: 100_000))
        defer { server.stop() }
        server.onFrame = { connection, count in
            connection.send(frame: [UInt8(count)])
            if count == 2 { connection.notifyWhenDrained() }
        }
        let client = try await RawClient(port: server.port)
        defer { client.stop() }
        client.send([1])
        #expect(await eventually { client.frames.value.count == 1 })
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.drains.value == 0)
        client.send([2])
        #expect(await eventually { server.drains.value == 1 })
        #expect(client.frames.value.count == 2)
        // Asked with nothing queued and no flush due: reported once, in a later pass.
        server.loop.execute { server.connections[0].notifyWhenDrained() }
        #expect(await eventually { server.drains.value == 2 })
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.drains.value == 2)
    }

    /// A peer that writes a long burst and closes: every frame arrives whole and in order, though
    /// frames straddle the loop's read buffer, and the end of stream is reported after the last.
    @Test func aBurstThenCloseArrivesWholeInOrderAndEnds() async throws {
        let server = try await Server(options: .init(maximumFrameLength: 2000))
        defer { server.stop() }
        let bodies = Self.bodies(3000)
        let written = Box<Bool?>(nil)
        let port = server.port
        let stream = Self.framed(bodies)
        try DetachedThread.start("burst writer") { written.value = Self.writeAndClose(stream, port: port) }
        #expect(await eventually(20) { server.closes.value == [.peerClosed] })
        #expect(await eventually { written.value == true })
        #expect(server.frames.value.count == bodies.count)
        #expect(server.frames.value == bodies)
    }

    /// Frames that arrive while reading is paused wait in the connection, and come in order, before
    /// later input, once it resumes; the end of stream waits for them too.
    @Test func framesHeldWhilePausedComeInOrderOnResume() async throws {
        let server = try await Server(options: .init(maximumFrameLength: 2000))
        defer { server.stop() }
        let bodies = Self.bodies(400)
        let pausedAt = 10
        server.onFrame = { connection, count in if count == pausedAt { connection.pauseReading() } }
        let written = Box<Bool?>(nil)
        let port = server.port
        let stream = Self.framed(bodies)
        try DetachedThread.start("burst writer") { written.value = Self.writeAndClose(stream, port: port) }
        #expect(await eventually { written.value == true })
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.frames.value.count == pausedAt)
        #expect(server.closes.value.isEmpty)
        server.loop.execute { server.connections.first?.resumeReading() }
        #expect(await eventually { server.closes.value == [.peerClosed] })
        #expect(server.frames.value == bodies)
    }

    /// A peer faster than the frame-rate limit is read at that rate: its frames wait (in the socket
    /// or the connection) and all arrive, in order, no faster than the limit and its burst allow.
    @Test func aFrameRateLimitPacesInputWithoutLosingAny() async throws {
        let server = try await Server(options: .init(maximumFrameLength: 2000, maximumFrameRate: 1000))
        defer { server.stop() }
        let bodies = Self.bodies(300)
        let port = server.port
        let stream = Self.framed(bodies)
        let start = ContinuousClock.now
        try DetachedThread.start("burst writer") { _ = Self.writeAndClose(stream, port: port) }
        #expect(await eventually { server.frames.value.count >= 150 })
        // 300 frames at 1,000/s with a burst of 100: at least 0.2 s for the lot, 0.05 s for half.
        #expect(ContinuousClock.now - start >= .milliseconds(40))
        #expect(await eventually { server.closes.value == [.peerClosed] })
        #expect(ContinuousClock.now - start >= .milliseconds(190))
        #expect(server.frames.value == bodies)
    }

    /// A backlog larger than the socket takes is sent whole before `closeAfterFlush` ends the
    /// connection, which it reports once.
    @Test func closeAfterFlushSendsTheWholeBacklogThenEndsOnce() async throws {
        let server = try await Server(options: .init(maximumFrameLength: 100_000))
        defer { server.stop() }
        server.onFrame = { connection, _ in
            for index in 0..<100 { connection.send(frame: [UInt8](repeating: UInt8(index), count: 50_000)) }
            connection.closeAfterFlush()
        }
        let client = try await RawClient(port: server.port)
        defer { client.stop() }
        client.send([1])
        #expect(await eventually(10) { client.closed.value != nil })
        #expect(client.frames.value.map(\.first) == (0..<100).map { UInt8($0) })
        #expect(client.frames.value.allSatisfy { $0.count == 50_000 })
        #expect(server.closes.value == [.closedLocally])
    }

    /// A handler that sends again on every drain (as a subscriber catching up does) gets one round
    /// per loop pass: other connections are still accepted and read.
    @Test func aConnectionRefilledOnEveryDrainLeavesTheLoopToOthers() async throws {
        let server = try await Server(options: .init(maximumFrameLength: 100_000))
        defer { server.stop() }
        // Small enough that the socket never fills: only the loop's pacing stops the rounds.
        let refill: [UInt8] = [3]
        server.onFrame = { connection, count in
            if count == 1 {
                connection.send(frame: refill)
                connection.notifyWhenDrained()
            }
        }
        server.onDrained = { connection in
            connection.send(frame: refill)
            connection.notifyWhenDrained()
        }
        let reader = try await RawClient(port: server.port)
        defer { reader.stop() }
        reader.loop.execute { reader.keepsFrames = false }  // reads and drops: keeps up
        reader.send([1])
        #expect(await eventually { server.drains.value > 20 })
        let other = try await RawClient(port: server.port)
        defer { other.stop() }
        other.send([2])
        #expect(await eventually { server.frames.value.count == 2 })
        #expect(server.frames.value.last == [2])
    }

    /// After an exchange an idle connection keeps no buffer: its memory is the objects alone.
    @Test func anIdleConnectionHoldsNoBuffers() async throws {
        let server = try await Server(options: .init(maximumFrameLength: 100_000))
        defer { server.stop() }
        server.onFrame = { connection, _ in connection.send(frame: [UInt8](repeating: 9, count: 50_000)) }
        let client = try await RawClient(port: server.port)
        defer { client.stop() }
        client.send([UInt8](repeating: 1, count: 70_000))
        #expect(await eventually { client.frames.value.count == 1 })
        let capacity = Box<Int?>(nil)
        server.loop.execute { capacity.value = server.connections.first?.bufferCapacity }
        #expect(await eventually { capacity.value != nil })
        #expect(capacity.value == 0)
    }

    private static func bodies(_ count: Int) -> [[UInt8]] {
        (0..<count).map { [UInt8](repeating: UInt8($0 & 0xff), count: 100 + $0 % 1900) }
    }

    private static func framed(_ bodies: [[UInt8]]) -> [UInt8] {
        var stream: [UInt8] = []
        for body in bodies { stream += [0, 0, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body }
        return stream
    }

    /// Connects a plain socket to `port`, writes `bytes` (blocking) and closes; whether all went.
    private static func writeAndClose(_ bytes: [UInt8], port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { write(socket, $0.baseAddress, $0.count) }
            guard count > 0 else { return false }
            offset += count
        }
        return true
    }
}
