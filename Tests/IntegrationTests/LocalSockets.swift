import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket that plays systemd's part of the notify protocol: it receives what a
/// service sends to `NOTIFY_SOCKET`.
final class NotifySocket: @unchecked Sendable {
    let path: String
    private let socket: Int32
    /// Every message received so far, in order.
    private(set) var messages: [String] = []

    init(in directory: URL) throws {
        path = directory.appendingPathComponent("notify.sock").path
        socket = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard status == 0 else { throw ProcessError(description: "cannot bind \(path): \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(socket)
        unlink(path)
    }

    /// Receives until a message contains `line` (as one of its lines); returns that message.
    func waitFor(_ line: String, seconds: Double = 20) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { continue }
            let message = String(decoding: buffer[..<count], as: UTF8.self)
            messages.append(message)
            if message.split(separator: "\n").contains(Substring(line)) { return message }
        }
        throw ProcessError(description: "no '\(line)' on the notify socket within \(seconds) s; got \(messages)")
    }
}

/// One HTTP/1.0 request over a plain socket; returns the status code and the body.
func httpRequest(_ address: String, _ request: String) throws -> (status: Int, body: String) {
    let connection = try RawConnection(address: address)
    try connection.write(raw: Array(request.utf8))
    let response = connection.readToEnd()
    let text = String(decoding: response, as: UTF8.self)
    guard let statusLine = text.split(separator: "\r\n").first, statusLine.hasPrefix("HTTP/1."),
          let code = Int(statusLine.split(separator: " ")[1]) else {
        throw ProcessError(description: "not an HTTP response: \(text.prefix(200))")
    }
    let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
    return (code, body)
}

/// `GET path` from the broker's HTTP listener.
func httpGet(_ address: String, _ path: String) throws -> (status: Int, body: String) {
    try httpRequest(address, "GET \(path) HTTP/1.0\r\nHost: \(address)\r\n\r\n")
}

/// The value of one sample in a Prometheus text page (`name` with its labels, as written).
func metric(_ page: String, _ sample: String) -> Double? {
    for line in page.split(separator: "\n") where line.hasPrefix(sample + " ") {
        return Double(line.dropFirst(sample.count + 1))
    }
    return nil
}
