#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Tells the service manager (systemd, `Type=notify`) about the daemon's state through the
/// datagram socket named by `NOTIFY_SOCKET`: readiness, reloads, shutdown and watchdog pings.
/// Without `NOTIFY_SOCKET` (not started by systemd) every call does nothing.
public final class ServiceManager: @unchecked Sendable {
    private let socket: Int32
    private var address = sockaddr_un()
    private var addressLength: socklen_t = 0
    /// How often systemd wants a `WATCHDOG=1` (from `WATCHDOG_USEC`), or nil without a watchdog.
    public let watchdogInterval: Double?

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`, and unsets them so that child
    /// processes do not notify in our name.
    public init() {
        let path = Environment.value("NOTIFY_SOCKET")
        var watchdog: Double?
        if let text = Environment.value("WATCHDOG_USEC"), let microseconds = UInt64(text), microseconds > 0 {
            let pid = Environment.value("WATCHDOG_PID").flatMap { Int32($0) }
            if pid == nil || pid == getpid() { watchdog = Double(microseconds) / 1_000_000 }
        }
        watchdogInterval = watchdog
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] { unsetenv(name) }
        guard let path, path.hasPrefix("/") || path.hasPrefix("@"),
              path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            socket = -1
            return
        }
        #if canImport(Glibc)
        socket = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        socket = Darwin.socket(AF_UNIX, SOCK_DGRAM, 0)
        #endif
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // an abstract socket name
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
    }

    deinit {
        if socket >= 0 { close(socket) }
    }

    /// Whether a service manager listens.
    public var isActive: Bool { socket >= 0 }

    /// `READY=1`: startup is complete; `status` is shown by `systemctl status`.
    public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }

    /// `RELOADING=1`: a configuration reload began; `ready(status:)` ends it.
    public func reloading() {
        send("RELOADING=1\nMONOTONIC_USEC=\(Environment.monotonicNanoseconds() / 1000)")
    }

    /// `STOPPING=1`: shutdown began.
    public func stopping() { send("STOPPING=1") }

    /// `WATCHDOG=1`: the event loop is alive.
    public func watchdog() { send("WATCHDOG=1") }

    /// A free-form status line.
    public func status(_ text: String) { send("STATUS=\(text)") }

    private func send(_ message: String) {
        guard socket >= 0 else { return }
        let bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { target in
                bytes.withUnsafeBytes { sendto(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), target, addressLength) }
            }
        }
    }
}
