import CLibevent
import Platform
#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection on an event loop that exchanges length-prefixed frames: a 4-byte big-endian
/// length, then that many bytes. A length over `maximumFrameLength` is refused from the 4-byte
/// prefix alone, before anything is buffered for it.
///
/// Input is read into the loop's shared read buffer and handed on frame by frame; the connection
/// keeps bytes of its own only for a frame not yet complete (or frames held back while reading is
/// paused or throttled). Output is queued and written once the loop turn's callbacks have run, in as few writes
/// as the socket takes. An idle connection holds no buffer at all.
///
/// What happens on it is told to its `delegate`. Back-pressure: the delegate hears when queued
/// output passes `outputLimit` (a peer that does not read). Use it on its loop thread only.
public final class Connection {
    /// Why a connection ended.
    public enum CloseReason: Sendable, Equatable, CustomStringConvertible {
        case peerClosed
        case error(String)
        case frameTooLarge(length: Int, limit: Int)
        case closedLocally

        public var description: String {
            switch self {
            case .peerClosed: "closed by peer"
            case .error(let text): text
            case let .frameTooLarge(length, limit): "frame of \(length) bytes exceeds the limit of \(limit)"
            case .closedLocally: "closed locally"
            }
        }
    }

    /// Limits shared by the connections made with them (a listener's, say): each connection
    /// keeps a reference, not a copy.
    public final class Options: Sendable {
        public let maximumFrameLength: Int
        /// Queued output beyond this is reported to the delegate (`connectionOverflowed`).
        public let outputLimit: Int
        /// The delegate hears `connectionDrained` when a write leaves at most this many bytes queued.
        public let writeLowWaterMark: Int
        /// Frames per second taken from the peer (0: no limit); faster input waits in the socket
        /// (and what was read already, at most one loop read buffer, in the connection).
        public let maximumFrameRate: Int

        public init(maximumFrameLength: Int, outputLimit: Int = 8 << 20, writeLowWaterMark: Int = 0, maximumFrameRate: Int = 0) {
            self.maximumFrameLength = maximumFrameLength
            self.outputLimit = outputLimit
            self.writeLowWaterMark = writeLowWaterMark
            self.maximumFrameRate = maximumFrameRate
        }
    }

    // Stored properties are ordered so that the flags and the socket fill the padding after the
    // rate limit's optional tag: 10,000 idle connections pay for every padding byte.

    /// Paces input to `maximumFrameRate`; nil without a limit.
    private var rateLimit: TokenBucket?
    private var readEventAdded = false
    private var writeEventAdded = false
    private var flushScheduled = false
    /// The delegate asked to hear when output drains (`notifyWhenDrained`).
    private var drainWanted = false
    /// The loop will report the drain in its next pass (`EventLoop.reportDrainInNextPass`).
    private var drainReportQueued = false
    private var closing = false
    private var readingStopped = false
    private var readingPaused = false
    /// The socket; -1 once closed.
    private var socket: Int32
    private var readEvent: OpaquePointer?
    /// Made when first needed: for a connect, or output the socket would not take at once.
    private var writeEvent: OpaquePointer?
    /// Received bytes not yet handed on, from `inputStart`: the start of a frame, or frames held
    /// back.
    private var input: [UInt8] = []
    private var inputStart = 0
    /// Framed output; its first `outputWritten` bytes are already written.
    private var output: [UInt8] = []
    private var outputWritten = 0
    private let options: Options
    private var connectHandler: ((EventLoopError?) -> Void)?
    /// The peer's address.
    public let peer: SocketAddress
    /// The loop the connection belongs to.
    public let loop: EventLoop
    private var throttleTimer: Timer?
    /// Where this connection's traffic is counted, if anywhere.
    public var traffic: TrafficTally?
    /// When a frame last arrived (monotonic nanoseconds; the connection's creation before that).
    public private(set) var lastReceived = Environment.monotonicNanoseconds()

    /// Hears the connection's frames and events. Not retained (one reference per connection costs
    /// no allocation, unlike a closure per event): the owner keeps the connection and `close()`s
    /// it before letting go of the delegate, after which nothing is reported.
    public unowned(safe) var delegate: (any ConnectionDelegate)?

    /// Wraps an accepted socket.
    public init(loop: EventLoop, socket: Int32, peer: SocketAddress, options: Options) {
        self.options = options
        self.peer = peer
        self.loop = loop
        self.socket = socket
        _ = evutil_make_socket_nonblocking(socket)
        Self.setNoDelay(socket)
        configure()
        updateReadEvent()
    }

    /// Connects to `address`; `completion` gets nil once connected, or the error.
    public init(loop: EventLoop, connectingTo address: SocketAddress, options: Options,
                completion: @escaping (EventLoopError?) -> Void) {
        self.options = options
        self.peer = address
        self.loop = loop
        connectHandler = completion
        socket = Glibc.socket(Int32(address.family), Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var status: Int32 = -1
        if socket >= 0 {
            Self.setNoDelay(socket)
            configure()
            status = address.withSockaddr { Glibc.connect(socket, $0, $1) }
        }
        if status == 0 || errno == EINPROGRESS {
            setWriteEvent(added: true)  // writable once the connect has finished, either way
        } else {
            let message = "cannot connect to \(address): \(String(cString: strerror(errno)))"
            let connection = LoopBound(self, loop: loop)
            loop.execute { connection.value.failConnect(message) }
        }
    }

    deinit {
        close()
    }

    private func configure() {
        if options.maximumFrameRate > 0 {
            let rate = Double(options.maximumFrameRate)
            rateLimit = TokenBucket(rate: rate, burst: max(rate / 10, 64), now: lastReceived)
        }
        readEvent = event_new(loop.base, socket, Int16(EV_READ | EV_PERSIST), readCallback, Unmanaged.passUnretained(self).toOpaque())
    }

    private static func setNoDelay(_ socket: Int32) {
        var one: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    public var isOpen: Bool { socket >= 0 && !closing }

    /// The largest frame this connection takes (fixed when it was created).
    public var maximumFrameLength: Int { options.maximumFrameLength }

    /// Bytes queued for sending.
    public var queuedOutput: Int { output.count - outputWritten }

    /// Bytes of buffer space the connection holds (for tests: none when idle).
    var bufferCapacity: Int { input.capacity + output.capacity }

    /// Queues one frame; it is written once the current loop turn's callbacks have run.
    public func send(frame body: [UInt8]) {
        guard socket >= 0, !closing else { return }
        reserveOutput(4 + body.count)
        appendFrame(body)
        queued(frames: 1, bytes: 4 + body.count)
    }

    /// Queues frames in order, with room for all of them made at once: appended one by one, a
    /// turn's frames (a subscriber's deliveries, up to its message limit each) grew the buffer
    /// several times, copying what it held each time.
    public func send(frames bodies: [[UInt8]]) {
        guard socket >= 0, !closing, !bodies.isEmpty else { return }
        let bytes = bodies.reduce(0) { $0 + 4 + $1.count }
        reserveOutput(bytes)
        for body in bodies { appendFrame(body) }
        queued(frames: bodies.count, bytes: bytes)
    }

    /// Makes room for `bytes` more output, growing the buffer at least twofold (never by just
    /// what one send needs, which would copy the buffer on every send).
    private func reserveOutput(_ bytes: Int) {
        let needed = output.count + bytes
        if output.capacity < needed { output.reserveCapacity(max(needed, 2 * output.capacity)) }
    }

    private func appendFrame(_ body: [UInt8]) {
        let length = UInt32(body.count)
        output.append(UInt8(truncatingIfNeeded: length >> 24))
        output.append(UInt8(truncatingIfNeeded: length >> 16))
        output.append(UInt8(truncatingIfNeeded: length >> 8))
        output.append(UInt8(truncatingIfNeeded: length))
        output.append(contentsOf: body)
    }

    /// Counts queued frames and schedules their flush.
    private func queued(frames: Int, bytes: Int) {
        if let traffic {
            traffic.bytesSent &+= UInt64(bytes)
            traffic.framesSent &+= UInt64(frames)
        }
        // While the write event is armed (the socket was full), it writes this too, in the next
        // loop pass.
        if !flushScheduled && !writeEventAdded {
            flushScheduled = true
            loop.flushAfterCurrentCallbacks(self)
        }
        if queuedOutput > options.outputLimit { delegate?.connectionOverflowed(self) }
    }

    /// Closes at once, dropping output not yet written; the delegate is not told.
    public func close() {
        guard socket >= 0 else { return }
        if let readEvent { event_free(readEvent) }
        if let writeEvent { event_free(writeEvent) }
        readEvent = nil
        writeEvent = nil
        readEventAdded = false
        writeEventAdded = false
        Glibc.close(socket)
        socket = -1
        input = []
        inputStart = 0
        output = []
        outputWritten = 0
        throttleTimer?.cancel()
        throttleTimer = nil
    }

    /// Stops reading, sends what is queued, then closes and tells the delegate (`.closedLocally`).
    public func closeAfterFlush() {
        guard socket >= 0, !closing else { return }
        closing = true
        updateReadEvent()
        if queuedOutput == 0 { finish(.closedLocally) }
    }

    /// Closes and tells the delegate why.
    func finish(_ reason: CloseReason) {
        guard socket >= 0 else { return }
        close()
        delegate?.connection(self, closedBecause: reason)
    }

    private func failConnect(_ message: String) {
        close()
        if let handler = connectHandler {
            connectHandler = nil
            handler(EventLoopError(message))
        }
    }

    /// Stops taking input (back-pressure on a peer that sends faster than it is served) until
    /// `resumeReading`.
    public func pauseReading() {
        guard socket >= 0, !readingPaused else { return }
        readingPaused = true
        updateReadEvent()
    }

    public func resumeReading() {
        guard socket >= 0, readingPaused else { return }
        readingPaused = false
        readAgain()
    }

    /// Takes input again after a pause or throttle, if nothing else holds it back: frames already
    /// held get no read event, so they are handed on now.
    private func readAgain() {
        guard socket >= 0, canRead else { return }
        updateReadEvent()
        if !input.isEmpty { deliverHeldFrames() }
    }

    /// Counts `count` messages beyond the one each frame is charged for against the rate limit
    /// (a frame that carried a batch); later frames wait until they are paid for.
    public func chargeRateLimit(extraMessages count: Int) {
        guard count > 0, rateLimit != nil else { return }
        rateLimit!.charge(count, now: Environment.monotonicNanoseconds())
    }

    // MARK: Reading

    /// Whether input is taken now: not paused, throttled, stopped, closing or connecting.
    private var canRead: Bool {
        !closing && !readingStopped && !readingPaused && throttleTimer == nil && connectHandler == nil
    }

    private func updateReadEvent() {
        guard let readEvent else { return }
        let wanted = socket >= 0 && canRead
        guard wanted != readEventAdded else { return }
        readEventAdded = wanted
        if wanted { event_add(readEvent, nil) } else { event_del(readEvent) }
    }

    /// Reads what the socket holds, up to `readsPerWakeup` loop buffers, and hands on the frames.
    /// An end of stream or error is reported after the frames read before it.
    fileprivate func socketReadable() {
        let buffer = loop.readBuffer
        for _ in 0..<Self.readsPerWakeup {
            guard socket >= 0, canRead else { return }
            let count = Glibc.read(socket, buffer.baseAddress, buffer.count)
            if count > 0 {
                take(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                if count < buffer.count { return }  // the socket is empty
            } else if count == 0 {
                finish(.peerClosed)
                return
            } else {
                let error = errno
                if error != EAGAIN && error != EWOULDBLOCK && error != EINTR { finish(.error(String(cString: strerror(error)))) }
                return
            }
        }
    }

    /// Loop buffers read per readable event at most, so that one busy peer cannot hold the loop.
    private static let readsPerWakeup = 4

    /// Hands on the frames in `bytes`, just read, after any held input; keeps the rest.
    private func take(_ bytes: UnsafeRawBufferPointer) {
        if input.isEmpty {
            let used = deliverFrames(in: bytes)
            if socket >= 0, used < bytes.count {
                input.append(contentsOf: bytes[used...])
                inputStart = 0
            }
        } else {
            input.append(contentsOf: bytes)
            deliverHeldFrames()
        }
    }

    /// Hands on the complete frames held in `input`.
    private func deliverHeldFrames() {
        // Moved out while frames are handed on, so that a handler may touch the connection.
        let held = input
        input = []
        let used = held.withUnsafeBytes { deliverFrames(in: UnsafeRawBufferPointer(rebasing: $0[inputStart...])) }
        guard socket >= 0 else { return }
        let start = inputStart + used
        if start == held.count {
            inputStart = 0
        } else if start > held.count / 2 {
            // Handed-on bytes are dropped once they are most of the buffer: each moves once at most.
            input = Array(held[start...])
            inputStart = 0
        } else {
            input = held
            inputStart = start
        }
    }

    /// Hands on whole frames from the start of `bytes` while reading may go on; returns the bytes
    /// used.
    private func deliverFrames(in bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        let now = Environment.monotonicNanoseconds()
        while socket >= 0, canRead, bytes.count - offset >= 4 {
            let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            if length > options.maximumFrameLength {
                readingStopped = true
                updateReadEvent()
                if let delegate { delegate.connection(self, refusedFrameOf: length) } else { finish(.frameTooLarge(length: length, limit: maximumFrameLength)) }
                break
            }
            guard bytes.count - offset >= 4 + length else { break }
            if let wait = rateLimit?.take(now: now) {
                throttle(for: wait)
                break
            }
            lastReceived = now
            if let traffic {
                traffic.bytesReceived &+= UInt64(4 + length)
                traffic.framesReceived &+= 1
            }
            let body = [UInt8](bytes[(offset + 4)..<(offset + 4 + length)])
            offset += 4 + length
            delegate?.connection(self, received: body)
        }
        return offset
    }

    /// Stops reading for `seconds` because the peer sends faster than `maximumFrameRate`.
    private func throttle(for seconds: Double) {
        guard socket >= 0 else { return }
        let timer = Timer(loop: loop) { [unowned self] in
            throttleTimer = nil
            readAgain()
        }
        throttleTimer = timer
        updateReadEvent()
        timer.schedule(after: max(seconds, 0.001))
    }

    // MARK: Writing

    /// The most one write call takes.
    private static let largestWrite = 256 << 10

    private func setWriteEvent(added wanted: Bool) {
        guard socket >= 0, wanted != writeEventAdded else { return }
        if writeEvent == nil {
            writeEvent = event_new(loop.base, socket, Int16(EV_WRITE | EV_PERSIST), writeCallback, Unmanaged.passUnretained(self).toOpaque())
        }
        writeEventAdded = wanted
        if wanted { event_add(writeEvent, nil) } else { event_del(writeEvent) }
    }

    /// Writes queued output once a turn's callbacks have run (called by the loop).
    func flush() {
        flushScheduled = false
        guard socket >= 0, connectHandler == nil, writeOutput() else { return }
        if closing && queuedOutput == 0 { return finish(.closedLocally) }
        updateWriteEvent()
        if drainWanted && queuedOutput <= options.writeLowWaterMark { scheduleDrainReport() }
    }

    /// Asks for one `connectionDrained` once queued output is at most the write low-water mark,
    /// for a sender that held back because too much was queued. It comes in a later loop pass,
    /// even when the output is low already, so that a handler that sends again cannot hold the
    /// loop. Output that drains unasked costs nothing: no report, no write event.
    public func notifyWhenDrained() {
        guard socket >= 0, !closing else { return }
        drainWanted = true
        // With a flush due this turn, the flush decides.
        if !flushScheduled && queuedOutput <= options.writeLowWaterMark { scheduleDrainReport() }
    }

    /// Writes queued output until it is gone or the socket is full; returns false when the
    /// connection ended on an error.
    private func writeOutput() -> Bool {
        while outputWritten < output.count {
            let count = output.withUnsafeBytes { bytes in
                Glibc.send(socket, bytes.baseAddress! + outputWritten, min(bytes.count - outputWritten, Self.largestWrite), Int32(MSG_NOSIGNAL))
            }
            if count > 0 {
                outputWritten += count
                continue
            }
            let error = errno
            if count < 0 && error == EINTR { continue }
            if count < 0 && (error == EAGAIN || error == EWOULDBLOCK) { break }
            finish(.error(count == 0 ? "the socket took no bytes" : String(cString: strerror(error))))
            return false
        }
        if outputWritten == output.count {
            output = []
            outputWritten = 0
        } else if outputWritten > output.count / 2 {
            // Written bytes are dropped once they are most of the buffer: each moves once at most.
            output.removeFirst(outputWritten)
            outputWritten = 0
        }
        return true
    }

    /// The write event waits for room in the socket while output is queued, and only then.
    private func updateWriteEvent() {
        setWriteEvent(added: queuedOutput > 0)
    }

    private func scheduleDrainReport() {
        guard !drainReportQueued else { return }
        drainReportQueued = true
        loop.reportDrainInNextPass(self)
    }

    /// Called by the loop in the pass after a drain report was scheduled.
    func reportQueuedDrain() {
        drainReportQueued = false
        guard socket >= 0, !closing else { return }
        reportDrainIfWanted()
    }

    private func reportDrainIfWanted() {
        guard drainWanted, queuedOutput <= options.writeLowWaterMark else { return }
        drainWanted = false
        delegate?.connectionDrained(self)
    }

    fileprivate func socketWritable() {
        guard let handler = connectHandler else {
            guard writeOutput() else { return }
            updateWriteEvent()
            if closing {
                if queuedOutput == 0 { finish(.closedLocally) }
                return
            }
            reportDrainIfWanted()
            return
        }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length) != 0 { error = errno }
        if error != 0 {
            failConnect("cannot connect to \(peer): \(String(cString: strerror(error)))")
            return
        }
        connectHandler = nil
        updateReadEvent()
        updateWriteEvent()
        handler(nil)
        flush()  // what was sent while connecting
    }

}

private func readCallback(_ socket: Int32, _ what: Int16, _ argument: UnsafeMutableRawPointer?) {
    withExtendedLifetime(Unmanaged<Connection>.fromOpaque(argument!).takeUnretainedValue()) { $0.socketReadable() }  // the handler may drop the last reference
}

private func writeCallback(_ socket: Int32, _ what: Int16, _ argument: UnsafeMutableRawPointer?) {
    withExtendedLifetime(Unmanaged<Connection>.fromOpaque(argument!).takeUnretainedValue()) { $0.socketWritable() }  // the handler may drop the last reference
}
