import ArgumentParser
import Foundation

/// A `polderd` started from beside this binary on a free loopback port.
final class BrokerProcess {
    let process = Process()
    let log: URL
    let directory: URL

    /// Starts a broker in `directory` (a new temporary one by default).
    init(verifierThreads: Int, directory: URL? = nil) throws {
        self.directory = try directory ?? BrokerProcess.temporaryDirectory()
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        log = self.directory.appendingPathComponent("polderd.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("polderd")
        process.executableURL = binary
        process.arguments = ["--listen", "127.0.0.1:0", "--data-dir", self.directory.appendingPathComponent("data").path,
                             "--verifier-threads", String(verifierThreads), "--log-level", "notice",
                             // One load-generator connection sends far more than one client should: no per-connection cap.
                             "--max-message-rate", "0"]
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    func waitForAddress() throws -> String {
        for _ in 0..<5000 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("listening on ") }) {
                return String(line.split(separator: " ").last!)
            }
            guard process.isRunning else { throw ValidationError("polderd exited: \(text)") }
            usleep(1000)
        }
        throw ValidationError("polderd did not start listening within 5 s")
    }

    static func temporaryDirectory() throws -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("polder-bench-\(UUID().uuidString.prefix(8))")
    }

    /// The broker's data directory; its store is in `store/` inside.
    var dataDirectory: URL { directory.appendingPathComponent("data") }

    /// Resident memory of the broker process in bytes: all of it, and the anonymous part (heap and
    /// stacks, without the store's memory-mapped file pages, which the kernel can drop).
    var resident: (total: Int, anonymous: Int) {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
                  let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
            return kilobytes * 1024
        }
        return (field("VmRSS"), field("RssAnon"))
    }

    /// Stops the broker (SIGTERM) and, unless `keepingData`, removes its directory.
    func stop(keepingData: Bool = false) {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        if !keepingData { try? FileManager.default.removeItem(at: directory) }
    }
}
