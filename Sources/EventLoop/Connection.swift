import CLibevent
import Platform
#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection on an event loop (a libevent bufferevent) that exchanges length-prefixed frames:
/// a 4-byte big-endian length, then that many bytes. A length over `maximumFrameLength` is refused
/// from the 4-byte prefix alone, before anything is buffered for it.
///
/// Back-pressure: reading pauses while unprocessed input exceeds the read high-water mark, and
/// `onOutputOverflow` fires when queued output passes `outputLimit` (a peer that does not read).
/// Use it on its loop thread only.
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

    public struct Options: Sendable {
        public var maximumFrameLength: Int
        /// Queued output beyond this calls `onOutputOverflow`.
        public var outputLimit: Int
        /// Reading pauses while this much input is unprocessed.
        public var readHighWaterMark: Int
        /// `onDrained` fires when queued output falls to this many bytes.
        public var writeLowWaterMark: Int
        /// Frames per second taken from the peer (0: no limit); faster input waits in the socket.
        public var maximumFrameRate: Int

        public init(maximumFrameLength: Int, outputLimit: Int = 8 << 20, readHighWaterMark: Int = 256 << 10, writeLowWaterMark: Int = 0,
                    maximumFrameRate: Int = 0) {
            self.maximumFrameLength = maximumFrameLength
            self.outputLimit = outputLimit
            self.readHighWaterMark = max(readHighWaterMark, maximumFrameLength + 4)
            self.writeLowWaterMark = writeLowWaterMark
            self.maximumFrameRate = maximumFrameRate
        }
    }

    private var bufferEvent: OpaquePointer?
    private let options: Options
    private var connectHandler: ((EventLoopError?) -> Void)?
    private var closing = false
    /// The peer's address.
    public let peer: SocketAddress

    /// Called with each complete frame body.
    public var onFrame: ([UInt8]) -> Void = { _ in }
    /// Called once when the connection ends, however it ends (not after `close()`).
    public var onClose: (CloseReason) -> Void = { _ in }
    /// Called when queued output exceeds `outputLimit`.
    public var onOutputOverflow: () -> Void = {}
    /// Called when queued output has fallen to the write low-water mark.
    public var onDrained: () -> Void = {}
    /// Called when a frame's length prefix exceeds the limit; reading has stopped. The owner may
    /// send an error and `closeAfterFlush()`; by default the connection closes.
    public lazy var onFrameTooLarge: (_ length: Int) -> Void = { [unowned self] length in
        finish(.frameTooLarge(length: length, limit: options.maximumFrameLength))
    }
    private var readingStopped = false
    private var readingPaused = false
    /// The loop the connection belongs to.
    public let loop: EventLoop
    /// Paces input to `maximumFrameRate`; nil without a limit.
    private var rateLimit: TokenBucket?
    private var throttleTimer: Timer?
    /// Where this connection's traffic is counted, if anywhere.
    public var traffic: TrafficTally?
    /// When a frame last arrived (monotonic nanoseconds; the connection's creation before that).
    public private(set) var lastReceived = Environment.monotonicNanoseconds()

    /// Wraps an accepted socket.
    public init(loop: EventLoop, socket: Int32, peer: SocketAddress, options: Options) {
        self.options = options
        self.peer = peer
        self.loop = loop
        setNoDelay(socket)
        bufferEvent = bufferevent_socket_new(loop.base, socket, Int32(BEV_OPT_CLOSE_ON_FREE.rawValue))
        configure()
    }

    /// Connects to `address`; `completion` gets nil once connected, or the error.
    public init(loop: EventLoop, connectingTo address: SocketAddress, options: Options,
                completion: @escaping (EventLoopError?) -> Void) {
        self.options = options
        self.peer = address
        self.loop = loop
        connectHandler = completion
        bufferEvent = bufferevent_socket_new(loop.base, -1, Int32(BEV_OPT_CLOSE_ON_FREE.rawValue))
        configure()
        let status = address.withSockaddr { bufferevent_socket_connect(bufferEvent, $0, Int32($1)) }
        if status != 0 {
            let message = "cannot connect to \(address): \(String(cString: strerror(errno)))"
            let connection = LoopBound(self, loop: loop)
            loop.execute { connection.value.failConnect(message) }
        }
    }

    deinit {
        if let bufferEvent { bufferevent_free(bufferEvent) }
    }

    private func configure() {
        if options.maximumFrameRate > 0 {
            let rate = Double(options.maximumFrameRate)
            rateLimit = TokenBucket(rate: rate, burst: max(rate / 10, 64), now: lastReceived)
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        bufferevent_setcb(bufferEvent, readCallback, writeCallback, eventCallback, context)
        bufferevent_setwatermark(bufferEvent, Int16(EV_READ), 0, options.readHighWaterMark)
        bufferevent_setwatermark(bufferEvent, Int16(EV_WRITE), options.writeLowWaterMark, 0)
        bufferevent_set_max_single_write(bufferEvent, Self.largestWrite)
        bufferevent_enable(bufferEvent, Int16(EV_READ | EV_WRITE))
    }

    private func setNoDelay(_ socket: Int32) {
        var one: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    public var isOpen: Bool { bufferEvent != nil && !closing }

    /// The largest frame this connection takes (fixed when it was created).
    public var maximumFrameLength: Int { options.maximumFrameLength }

    /// Bytes queued for sending.
    public var queuedOutput: Int {
        guard let bufferEvent else { return 0 }
        return evbuffer_get_length(bufferevent_get_output(bufferEvent))
    }

    /// Queues one frame.
    public func send(frame body: [UInt8]) {
        guard let bufferEvent, !closing else { return }
        let output = bufferevent_get_output(bufferEvent)
        var prefix = UInt32(body.count).bigEndian
        evbuffer_add(output, &prefix, 4)
        body.withUnsafeBytes { _ = evbuffer_add(output, $0.baseAddress, $0.count) }
        if let traffic {
            traffic.bytesSent &+= UInt64(4 + body.count)
            traffic.framesSent &+= 1
        }
        if evbuffer_get_length(output) > options.outputLimit { onOutputOverflow() }
    }

    /// Closes at once; `onClose` is not called.
    public func close() {
        if let bufferEvent {
            // libevent closes the socket when it finalizes the bufferevent, from a later loop
            // iteration, which never comes once a client stops its loop: the peer would not see
            // the end. Shutting the socket down now sends it (after what the kernel still holds).
            let socket = bufferevent_getfd(bufferEvent)
            if socket >= 0 { _ = Glibc.shutdown(socket, Int32(SHUT_RDWR)) }
            bufferevent_free(bufferEvent)
        }
        bufferEvent = nil
        throttleTimer?.cancel()
        throttleTimer = nil
    }

    /// Stops reading, sends what is queued, then closes and calls `onClose(.closedLocally)`.
    public func closeAfterFlush() {
        guard let bufferEvent, !closing else { return }
        closing = true
        bufferevent_disable(bufferEvent, Int16(EV_READ))
        if queuedOutput == 0 { finish(.closedLocally) }
    }

    private func finish(_ reason: CloseReason) {
        guard bufferEvent != nil else { return }
        close()
        onClose(reason)
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
        guard let bufferEvent, !readingPaused else { return }
        readingPaused = true
        bufferevent_disable(bufferEvent, Int16(EV_READ))
    }

    public func resumeReading() {
        guard let bufferEvent, readingPaused else { return }
        readingPaused = false
        guard !readingStopped, !closing, throttleTimer == nil else { return }
        bufferevent_enable(bufferEvent, Int16(EV_READ))
        readable()  // frames already buffered get no new read event
    }

    /// Called by libevent after it read from the socket: libevent 2.1 reads at most 4 KiB per
    /// readable event, so a busy peer's input cost a loop pass, an ioctl and a read per 4 KiB.
    /// Reads what else the socket holds (up to 63 KiB and the read high-water mark) in one more
    /// call, then takes the frames. An end of stream or error found here is left for libevent's
    /// next read, which reports it.
    fileprivate func socketReadable() {
        readRestOfSocket()
        readable()
    }

    /// Input left unprocessed (a partial frame) when `readable` last returned: what libevent
    /// just read is the input beyond it.
    private var inputLeft = 0
    /// Reads `readRestOfSocket` made (for tests: that the path runs).
    private(set) var readsPastLibevent = 0

    private func readRestOfSocket() {
        guard let bufferEvent, !closing else { return }
        let input = bufferevent_get_input(bufferEvent)
        let buffered = evbuffer_get_length(input)
        // libevent read less than its 4 KiB: its read emptied the socket.
        guard buffered - min(inputLeft, buffered) >= 4096 else { return }
        let socket = bufferevent_getfd(bufferEvent)
        // Asked first so that no buffer space is set aside for bytes that are not there (an
        // idle or trickling connection keeps no 64 KiB chunk).
        var waiting: Int32 = 0
        guard withUnsafeMutablePointer(to: &waiting, { ioctl(socket, UInt(FIONREAD), $0) }) == 0 else { return }
        let wanted = min(Int(waiting), options.readHighWaterMark - buffered, Self.largestRead)
        guard wanted > 0 else { return }
        // A socket bufferevent keeps its input's end frozen except while libevent itself reads.
        evbuffer_unfreeze(input, 0)
        let lost = Self.read(socket, wanted, into: input)
        evbuffer_freeze(input, 0)
        readsPastLibevent += 1
        // Out of the socket but not in the buffer: the stream is broken.
        if lost > 0 { finish(.error("cannot add \(lost) bytes read to the input buffer")) }
    }

    /// Reads up to `wanted` bytes from `socket` into `input`'s free space; returns how many
    /// bytes were read but could not be committed (0 when all went well).
    private static func read(_ socket: Int32, _ wanted: Int, into input: OpaquePointer?) -> Int {
        var extents = (iovec(), iovec())
        return withUnsafeMutablePointer(to: &extents) { pair in
            pair.withMemoryRebound(to: iovec.self, capacity: 2) { extents in
                let count = Int(evbuffer_reserve_space(input, wanted, extents, 2))
                guard count > 0 else { return 0 }
                // The extents may hold more than asked for.
                extents[0].iov_len = min(extents[0].iov_len, wanted)
                if count == 2 { extents[1].iov_len = min(extents[1].iov_len, wanted - extents[0].iov_len) }
                let read = readv(socket, extents, Int32(count))
                guard read > 0 else { return 0 }
                var left = read
                var used = 0
                while left > 0 {
                    extents[used].iov_len = min(extents[used].iov_len, left)
                    left -= extents[used].iov_len
                    used += 1
                }
                return evbuffer_commit_space(input, extents, Int32(used)) == 0 ? 0 : read
            }
        }
    }

    /// The most one `readRestOfSocket` takes: with libevent's chunk header, the chunk fits 64 KiB
    /// (libevent rounds chunk sizes up to a power of two).
    private static let largestRead = 63 << 10
    /// The most libevent writes in one call when the socket is writable (its default, 16 KiB,
    /// made a subscriber's stream of deliveries a loop pass and a writev per 16 KiB).
    private static let largestWrite = 256 << 10

    fileprivate func readable() {
        guard let bufferEvent, throttleTimer == nil else { return }
        let input = bufferevent_get_input(bufferEvent)
        defer { inputLeft = self.bufferEvent == nil ? 0 : evbuffer_get_length(input) }
        let now = Environment.monotonicNanoseconds()
        while self.bufferEvent != nil, !closing, !readingStopped, !readingPaused {
            let available = evbuffer_get_length(input)
            if available < 4 { return }
            var prefix: UInt32 = 0
            evbuffer_copyout(input, &prefix, 4)
            let length = Int(UInt32(bigEndian: prefix))
            if length > options.maximumFrameLength {
                readingStopped = true
                bufferevent_disable(bufferEvent, Int16(EV_READ))
                onFrameTooLarge(length)
                return
            }
            if available < 4 + length { return }
            if let wait = rateLimit?.take(now: now) {
                throttle(for: wait)
                return
            }
            lastReceived = now
            if let traffic {
                traffic.bytesReceived &+= UInt64(4 + length)
                traffic.framesReceived &+= 1
            }
            evbuffer_drain(input, 4)
            let body = [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
                if length > 0 { evbuffer_remove(input, buffer.baseAddress, length) }
                count = length
            }
            onFrame(body)
        }
    }

    /// Counts `count` messages beyond the one each frame is charged for against the rate limit
    /// (a frame that carried a batch); later frames wait until they are paid for.
    public func chargeRateLimit(extraMessages count: Int) {
        guard count > 0, rateLimit != nil else { return }
        rateLimit!.charge(count, now: Environment.monotonicNanoseconds())
    }

    /// Stops reading for `seconds` because the peer sends faster than `maximumFrameRate`.
    private func throttle(for seconds: Double) {
        guard let bufferEvent else { return }
        bufferevent_disable(bufferEvent, Int16(EV_READ))
        let timer = Timer(loop: loop) { [unowned self] in
            throttleTimer = nil
            guard let bufferEvent = self.bufferEvent, !readingStopped, !closing else { return }
            if !readingPaused { bufferevent_enable(bufferEvent, Int16(EV_READ)) }
            readable()
        }
        timer.schedule(after: max(seconds, 0.001))
        throttleTimer = timer
    }

    fileprivate func writable() {
        if closing {
            if queuedOutput == 0 { finish(.closedLocally) }
            return
        }
        onDrained()
    }

    fileprivate func event(_ what: Int16) {
        if what & Int16(BEV_EVENT_CONNECTED) != 0 {
            if let handler = connectHandler {
                connectHandler = nil
                handler(nil)
            }
            return
        }
        if connectHandler != nil {
            failConnect("cannot connect to \(peer): \(String(cString: strerror(errno)))")
            return
        }
        if what & Int16(BEV_EVENT_EOF) != 0 {
            finish(.peerClosed)
        } else if what & Int16(BEV_EVENT_ERROR) != 0 {
            finish(.error(String(cString: strerror(errno))))
        }
    }
}

private func readCallback(_ bufferEvent: OpaquePointer?, _ argument: UnsafeMutableRawPointer?) {
    withExtendedLifetime(Unmanaged<Connection>.fromOpaque(argument!).takeUnretainedValue()) { $0.socketReadable() }  // the handler may drop the last reference
}

private func writeCallback(_ bufferEvent: OpaquePointer?, _ argument: UnsafeMutableRawPointer?) {
    withExtendedLifetime(Unmanaged<Connection>.fromOpaque(argument!).takeUnretainedValue()) { $0.writable() }  // the handler may drop the last reference
}

private func eventCallback(_ bufferEvent: OpaquePointer?, _ what: Int16, _ argument: UnsafeMutableRawPointer?) {
    withExtendedLifetime(Unmanaged<Connection>.fromOpaque(argument!).takeUnretainedValue()) { $0.event(what) }  // the handler may drop the last reference
}
