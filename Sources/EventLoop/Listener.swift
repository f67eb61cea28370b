import CLibevent
#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket on an event loop; hands each accepted socket to `onAccept`.
/// Create and close it on the loop thread.
public final class Listener {
    private var listener: OpaquePointer?
    private let onAccept: (Int32, SocketAddress) -> Void
    /// The address actually bound (with the real port when 0 was asked for).
    public private(set) var localAddress: SocketAddress

    public init(loop: EventLoop, address: SocketAddress, backlog: Int32 = 1024,
                onAccept: @escaping (_ socket: Int32, _ peer: SocketAddress) -> Void) throws(EventLoopError) {
        self.onAccept = onAccept
        localAddress = address
        let flags = UInt32(LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC)
        let created = address.withSockaddr { sockaddr, length in
            evconnlistener_new_bind(loop.base, acceptCallback, Unmanaged.passUnretained(self).toOpaque(), flags, backlog, sockaddr, Int32(length))
        }
        guard let created else {
            throw EventLoopError("cannot listen on \(address): \(String(cString: strerror(errno)))")
        }
        listener = created
        localAddress = SocketAddress(boundTo: evconnlistener_get_fd(created))
    }

    deinit { close() }

    /// Stops accepting and closes the socket.
    public func close() {
        if let listener { evconnlistener_free(listener) }
        listener = nil
    }

    fileprivate func accepted(_ socket: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: Int32) {
        var storage = sockaddr_in6()
        let length = min(Int(length), MemoryLayout<sockaddr_in6>.size)
        if let address {
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: length)) }
        }
        onAccept(socket, SocketAddress(storage: storage, length: socklen_t(length)))
    }
}

private func acceptCallback(_ listener: OpaquePointer?, _ socket: Int32, _ address: UnsafeMutablePointer<sockaddr>?,
                            _ length: Int32, _ argument: UnsafeMutableRawPointer?) {
    withExtendedLifetime(Unmanaged<Listener>.fromOpaque(argument!).takeUnretainedValue()) { $0.accepted(socket, address, length) }  // the handler may drop the last reference
}
