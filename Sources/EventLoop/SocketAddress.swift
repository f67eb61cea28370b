import CLibevent
#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address and port, parsed from `HOST:PORT` (`[v6]:PORT` for IPv6; host names
/// are resolved).
public struct SocketAddress: Sendable, CustomStringConvertible {
    /// Large enough for either family (a `sockaddr_storage` would be 128 bytes in every connection).
    var storage = sockaddr_in6()
    var length: socklen_t = 0

    public init(_ text: String) throws(EventLoopError) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            throw EventLoopError("'\(text)' is not HOST:PORT")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw EventLoopError("cannot resolve '\(host)': \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        length = min(first.pointee.ai_addrlen, socklen_t(MemoryLayout<sockaddr_in6>.size))
        withUnsafeMutableBytes(of: &storage) { destination in
            destination.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(length)))
        }
    }

    /// The address a socket is bound to (with the real port when 0 was asked for).
    init(boundTo socket: Int32) {
        var bound = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        withUnsafeMutablePointer(to: &bound) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(socket, $0, &length) }
        }
        self.init(storage: bound, length: length)
    }

    init(storage: sockaddr_in6, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// The numeric address and port (`127.0.0.1:7000`, `[::1]:7000`), made when asked for: an
    /// accepted connection keeps only the binary address.
    public var text: String { Self.format(storage) }

    public var description: String { text }

    /// The address family (`AF_INET` or `AF_INET6`).
    var family: sa_family_t { storage.sin6_family }

    /// The port number.
    public var port: UInt16 {
        var copy = storage
        return withUnsafePointer(to: &copy) { pointer in
            pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var copy = storage
        return withUnsafePointer(to: &copy) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func format(_ storage: sockaddr_in6) -> String {
        var copy = storage
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        return withUnsafePointer(to: &copy) { pointer -> String in
            if Int32(storage.sin6_family) == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var raw = address.pointee.sin6_addr
                    inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count))
                    return "[\(text(buffer))]:\(UInt16(bigEndian: address.pointee.sin6_port))"
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                var raw = address.pointee.sin_addr
                inet_ntop(AF_INET, &raw, &buffer, socklen_t(buffer.count))
                return "\(text(buffer)):\(UInt16(bigEndian: address.pointee.sin_port))"
            }
        }
    }
}
