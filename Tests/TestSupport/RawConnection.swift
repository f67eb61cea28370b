import EventLoop
import Sodium
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP connection to a broker that speaks the protocol by hand, for tests that must
/// send what a well-behaved client never would, or stop reading.
public final class RawConnection: @unchecked Sendable {
    private let socket: Int32
    private var channel: SecureChannel?
    /// Messages of a received batch not yet returned by `receive`.
    private var unread: [ArraySlice<UInt8>] = []
    /// Batches received so far (a broker batches only for a client that sent one).
    public private(set) var batchesReceived = 0

    /// Connects; `receiveBuffer` shrinks the kernel's buffer to make a stalled reader stall sooner.
    public init(address: String, receiveBuffer: Int32? = nil) throws {
        let parts = address.split(separator: ":")
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(parts[1])!.bigEndian
        address.sin_addr.s_addr = inet_addr(String(parts[0]))
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { throw EventLoopError("cannot connect to \(address)") }
    }

    deinit { close(socket) }

    /// Runs the handshake as `identity`.
    public func handshake(as identity: SigningKeyPair) throws {
        var channel = SecureChannel(role: .initiator, identity: identity)
        try writeFrame(try channel.start())
        guard case let .established(_, frames) = try channel.receive(try readFrame()) else { throw EventLoopError("handshake failed") }
        for frame in frames { try writeFrame(frame) }
        self.channel = channel
    }

    /// Encrypts and sends one message (any bytes: it need not be a valid message).
    public func send(message: [UInt8]) throws {
        try writeFrame(try channel!.seal(message))
    }

    public func send(_ message: EdgeMessage) throws { try send(message: message.encoded()) }

    /// Reads and decrypts one message (the next of a batch, if one came).
    public func receive() throws -> EdgeMessage {
        if unread.isEmpty {
            guard case let .message(plaintext) = try channel!.receive(try readFrame()) else { throw EventLoopError("not a message") }
            unread = try EdgeBatch.unpack(plaintext, fromBroker: true)
            if EdgeBatch.isBatch(plaintext, fromBroker: true) { batchesReceived += 1 }
        }
        return try EdgeMessage.decode(unread.removeFirst())
    }

    public func send(_ message: PeerMessage) throws { try send(message: message.encoded()) }

    /// Reads and decrypts one message from a peer link.
    public func receivePeerMessage() throws -> PeerMessage {
        guard case let .message(plaintext) = try channel!.receive(try readFrame()) else { throw EventLoopError("not a message") }
        return try PeerMessage.decode(plaintext)
    }

    /// Writes raw bytes to the socket.
    public func write(raw bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(socket, $0.baseAddress! + offset, bytes.count - offset) }
            guard n > 0 else { throw EventLoopError("write failed") }
            offset += n
        }
    }

    /// Everything the other side sends until it closes (or the read times out).
    public func readToEnd() -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(socket, $0.baseAddress!, $0.count) }
            if n <= 0 { return received }
            received += buffer[..<n]
        }
    }

    /// Whether the broker has closed the connection (reads until end of stream or timeout).
    public func isClosedByPeer() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(socket, $0.baseAddress!, $0.count) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    public func writeFrame(_ body: [UInt8]) throws {
        try write(raw: withUnsafeBytes(of: UInt32(body.count).bigEndian, Array.init) + body)
    }

    private func readFrame() throws -> [UInt8] {
        let header = try readExactly(4)
        return try readExactly(Int(header.reduce(0) { $0 << 8 | UInt32($1) }))
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = bytes.withUnsafeMutableBytes { read(socket, $0.baseAddress! + offset, count - offset) }
            guard n > 0 else { throw EventLoopError("connection closed or timed out while reading") }
            offset += n
        }
        return bytes
    }
}
