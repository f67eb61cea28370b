import EventLoop
import Sodium
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// A subscriber that completes the handshake and subscribes, then stops reading its socket: a
/// slow consumer, made with a blocking socket so nothing drains it.
final class StalledSubscriber: @unchecked Sendable {
    private let socket: Int32

    init(address: String, identity: SigningKeyPair, topic: TopicID) async throws {
        let parts = address.split(separator: ":")
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var receiveBuffer: Int32 = 4096
        setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(parts[1])!.bigEndian
        address.sin_addr.s_addr = inet_addr(String(parts[0]))
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { throw EventLoopError("connect failed") }
        var channel = SecureChannel(role: .initiator, identity: identity)
        try writeFrame(try channel.start())
        guard case let .established(_, frames) = try channel.receive(try readFrame()) else { throw EventLoopError("handshake failed") }
        for frame in frames { try writeFrame(frame) }
        try writeFrame(try channel.seal(EdgeMessage.subscribe(request: 1, topic: topic).encoded()))
        _ = try channel.receive(try readFrame())  // the OK; nothing is read after this
    }

    func stop() { close(socket) }

    private func writeFrame(_ body: [UInt8]) throws {
        let bytes = withUnsafeBytes(of: UInt32(body.count).bigEndian, Array.init) + body
        guard write(socket, bytes, bytes.count) == bytes.count else { throw EventLoopError("write failed") }
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
            guard n > 0 else { throw EventLoopError("read failed") }
            offset += n
        }
        return bytes
    }
}
