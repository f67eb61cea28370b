import CLibevent
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server on an event loop (libevent's evhttp), for health checks, metrics and
/// introspection: GET only, small requests, answers built synchronously on the loop.
/// Create and close it on the loop thread.
public final class HTTPServer {
    /// What the handler sees of a request.
    public struct Request: Sendable {
        /// The path without the query string, e.g. `/metrics`.
        public let path: String
        public let query: String?
    }

    /// What the handler answers.
    public struct Response: Sendable {
        public var status: Int32
        public var contentType: String
        public var body: [UInt8]

        public init(status: Int32 = 200, contentType: String = "text/plain; charset=utf-8", body: [UInt8]) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }

        public init(status: Int32 = 200, contentType: String = "text/plain; charset=utf-8", text: String) {
            self.init(status: status, contentType: contentType, body: Array(text.utf8))
        }
    }

    private var http: OpaquePointer?
    private let handler: (Request) -> Response
    /// The address actually bound (with the real port when 0 was asked for).
    public private(set) var localAddress: SocketAddress

    /// Binds `address` and serves every request through `handler`.
    /// - Parameter timeout: seconds a client has to send its request or read the answer.
    public init(loop: EventLoop, address: SocketAddress, timeout: Int32 = 10,
                handler: @escaping (Request) -> Response) throws(EventLoopError) {
        self.handler = handler
        localAddress = address
        guard let http = evhttp_new(loop.base) else { throw EventLoopError("libevent could not create an HTTP server") }
        let flags = UInt32(LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC)
        let listener = address.withSockaddr { sockaddr, length in
            evconnlistener_new_bind(loop.base, nil, nil, flags, 128, sockaddr, Int32(length))
        }
        guard let listener else {
            evhttp_free(http)
            throw EventLoopError("cannot listen on \(address): \(String(cString: strerror(errno)))")
        }
        guard evhttp_bind_listener(http, listener) != nil else {
            evconnlistener_free(listener)
            evhttp_free(http)
            throw EventLoopError("libevent could not serve HTTP on \(address)")
        }
        self.http = http
        evhttp_set_allowed_methods(http, UInt16(EVHTTP_REQ_GET.rawValue))
        evhttp_set_timeout(http, timeout)
        evhttp_set_max_headers_size(http, 16 * 1024)
        evhttp_set_max_body_size(http, 0)
        evhttp_set_gencb(http, requestCallback, Unmanaged.passUnretained(self).toOpaque())
        localAddress = SocketAddress(boundTo: evconnlistener_get_fd(listener))
    }

    deinit { close() }

    /// Stops serving: closes the listening socket and every open HTTP connection.
    public func close() {
        if let http { evhttp_free(http) }
        http = nil
    }

    fileprivate func serve(_ request: OpaquePointer) {
        var path = "/"
        var query: String?
        if let uri = evhttp_request_get_evhttp_uri(request) {
            if let raw = evhttp_uri_get_path(uri), raw.pointee != 0 { path = String(cString: raw) }
            if let raw = evhttp_uri_get_query(uri) { query = String(cString: raw) }
        }
        let response = handler(Request(path: path, query: query))
        let headers = evhttp_request_get_output_headers(request)
        evhttp_add_header(headers, "Content-Type", response.contentType)
        evhttp_add_header(headers, "Cache-Control", "no-store")
        let body = evbuffer_new()
        defer { evbuffer_free(body) }
        if !response.body.isEmpty {
            response.body.withUnsafeBytes { _ = evbuffer_add(body, $0.baseAddress, $0.count) }
        }
        evhttp_send_reply(request, response.status, Self.reason(response.status), body)
    }

    private static func reason(_ status: Int32) -> String {
        switch status {
        case 200: "OK"
        case 404: "Not Found"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}

private func requestCallback(_ request: OpaquePointer?, _ argument: UnsafeMutableRawPointer?) {
    guard let request else { return }
    withExtendedLifetime(Unmanaged<HTTPServer>.fromOpaque(argument!).takeUnretainedValue()) { $0.serve(request) }
}
