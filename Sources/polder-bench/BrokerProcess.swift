import Foundation
import Platform
import Synchronization

/// One broker process for one scenario: a fresh directory and configuration, a free loopback
/// port, pinned to `cpus` with taskset when given; its memory and CPU time read from /proc.
final class BrokerProcess {
    let kind: BrokerKind
    let port: UInt16
    let directory: URL
    private let process = Process()
    private let log: URL
    private let keepsDirectory: Bool

    /// - Parameter directory: where the broker keeps its configuration and data; a new temporary
    ///   one, removed at the end, by default.
    init(_ kind: BrokerKind, executable: String, cpus: String?, brokerThreads: Int, directory: URL? = nil) throws {
        self.kind = kind
        keepsDirectory = directory != nil
        self.directory = directory ?? Self.temporaryDirectory(kind.rawValue)
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        port = try Self.freePort()
        log = self.directory.appendingPathComponent("broker.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let arguments = try kind.arguments(port: port, directory: self.directory, brokerThreads: brokerThreads)
        if let cpus {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["-c", cpus, executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = process.standardError
        try process.run()
        _ = Self.running.withLock { $0.insert(process.processIdentifier) }
        try waitUntilListening()
    }

    deinit { stop() }

    private func waitUntilListening() throws {
        let deadline = Environment.monotonicNanoseconds() + 10_000_000_000
        while Environment.monotonicNanoseconds() < deadline {
            guard process.isRunning else { throw BenchError("\(kind.name) exited at start: \(logText)") }
            if (try? LoadSocket(port: port)) != nil { return }
            usleep(2_000)
        }
        throw BenchError("\(kind.name) did not listen on port \(port) within 10 s: \(logText)")
    }

    private var logText: String {
        String((try? String(contentsOf: log, encoding: .utf8))?.suffix(2000) ?? "")
    }

    /// Brokers still running, killed if the benchmark itself is interrupted or terminated.
    private static let running = Mutex<Set<Int32>>([])
    /// Set once, from the main thread, before any broker starts.
    nonisolated(unsafe) private static var signalSources: [DispatchSourceSignal] = []

    /// Makes SIGINT, SIGTERM and SIGHUP stop every running broker before the benchmark exits.
    static func stopBrokersOnSignals() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                for pid in running.withLock({ $0 }) { kill(pid, SIGKILL) }
                Console.standardError("polder-bench: interrupted; brokers stopped")
                exit(130)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    static func temporaryDirectory(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("polder-bench-\(name)-\(UUID().uuidString.prefix(8))")
    }

    /// A port nothing listens on now: bound to 0, read back, released.
    static func freePort() throws -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw BenchError("cannot find a free port: \(String(cString: strerror(errno)))") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Resident memory of the broker in bytes (VmRSS), file pages it maps included.
    var resident: Int { statusBytes("VmRSS:") }

    /// Resident anonymous memory of the broker in bytes (RssAnon): heap and stacks, which the
    /// kernel cannot drop and read back the way it can the pages of a mapped file.
    var anonymous: Int { statusBytes("RssAnon:") }

    private func statusBytes(_ field: String) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
              let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kilobytes * 1024
    }

    /// CPU seconds the broker's threads have run, from each thread's schedstat (nanoseconds;
    /// /proc/PID/stat counts 10 ms ticks, too coarse for runs of a fraction of a second).
    var cpuSeconds: Double {
        let tasks = "/proc/\(process.processIdentifier)/task"
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []
        let nanoseconds = threads.reduce(0.0) { total, thread in
            let schedstat = (try? String(contentsOfFile: "\(tasks)/\(thread)/schedstat", encoding: .utf8)) ?? ""
            return total + (Double(schedstat.split(separator: " ").first ?? "") ?? 0)
        }
        return nanoseconds / 1e9
    }

    /// Stops the broker (SIGTERM, then SIGKILL after 10 s) and removes its directory unless it was given.
    func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = Environment.monotonicNanoseconds() + 10_000_000_000
            while process.isRunning && Environment.monotonicNanoseconds() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        _ = Self.running.withLock { $0.remove(process.processIdentifier) }
        if !keepsDirectory { try? FileManager.default.removeItem(at: directory) }
    }
}
