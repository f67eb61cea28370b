#if canImport(Glibc)
import Glibc
#endif
import Platform

/// A blocking TCP connection to a broker on 127.0.0.1, with Nagle's algorithm off: the load
/// generator's one way to reach any of the brokers.
final class LoadSocket {
    let descriptor: Int32
    private var closed = false
    /// The sending thread and the receiving thread (protocol replies) both write: one at a time,
    /// so that a reply never lands inside a half-sent batch.
    private let writing = PthreadMutex()

    init(port: UInt16) throws(BenchError) {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw BenchError("cannot create a socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw BenchError("cannot connect to 127.0.0.1:\(port): \(reason)")
        }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close() }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(descriptor)
    }

    /// Writes all of `bytes`, waiting for the socket as needed.
    func write(_ bytes: [UInt8]) throws(BenchError) {
        let outcome = writing.withLock { Result { () throws(BenchError) in try writeAll(bytes) } }
        try outcome.get()
    }

    private func writeAll(_ bytes: [UInt8]) throws(BenchError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw BenchError("the broker connection failed while sending: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    /// Reads what is available into `buffer` (waiting for at least one byte, at most `timeout`
    /// seconds when given); throws when the broker closed the connection.
    func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Double? = nil) throws(BenchError) -> Int {
        if let timeout {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            var ready: Int32
            repeat { ready = poll(&poller, 1, Int32(timeout * 1000)) } while ready < 0 && errno == EINTR
            if ready == 0 { throw BenchError("no answer from the broker within \(timeout) s") }
        }
        while true {
            let count = recv(descriptor, buffer.baseAddress, buffer.count, 0)
            if count > 0 { return count }
            if count < 0 && errno == EINTR { continue }
            if count == 0 { throw BenchError("the broker closed the connection") }
            throw BenchError("the broker connection failed while reading: \(String(cString: strerror(errno)))")
        }
    }
}

/// A failure of the benchmark itself or of a broker it drives, with what to tell the reader.
struct BenchError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
