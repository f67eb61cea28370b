import Foundation

/// The brokers compared: how to find, configure and speak to each. Every one runs as its own
/// process from a configuration written for the run, on 127.0.0.1 and a free port.
enum BrokerKind: String, CaseIterable, Sendable {
    case polder, mosquitto, nats

    var name: String {
        switch self {
        case .polder: "Polder"
        case .mosquitto: "Mosquitto"
        case .nats: "NATS"
        }
    }

    /// The executable: `polderd` from beside `polder-bench`, the peers from Debian's packages.
    var executable: String? {
        switch self {
        case .polder:
            let path = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
                .appendingPathComponent("polderd").path
            return FileManager.default.isExecutableFile(atPath: path) ? path : nil
        case .mosquitto: return Self.find("mosquitto")
        case .nats: return Self.find("nats-server")
        }
    }

    /// The version the executable reports, for the table's heading.
    func version(of executable: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = self == .mosquitto ? ["-h"] : ["--version"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        guard (try? process.run()) != nil else { return "?" }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let words = output.split(whereSeparator: \.isWhitespace)
        return words.first(where: { $0.first?.isNumber == true || $0.hasPrefix("v2") }).map(String.init) ?? "?"
    }

    /// Writes the broker's configuration into `directory` and returns its command-line arguments.
    func arguments(port: UInt16, directory: URL, brokerThreads: Int) throws -> [String] {
        switch self {
        case .polder:
            return ["--listen", "127.0.0.1:\(port)", "--data-dir", directory.appendingPathComponent("data").path,
                    "--verifier-threads", String(brokerThreads), "--log-level", "notice",
                    // One load-generator connection sends far more than one client should: no per-connection cap.
                    "--max-message-rate", "0", "--max-connections", "100000"]
        case .mosquitto:
            let file = directory.appendingPathComponent("mosquitto.conf")
            try """
                listener \(port) 127.0.0.1
                allow_anonymous true
                user root
                set_tcp_nodelay true
                max_connections -1
                persistence true
                persistence_location \(directory.path)/
                max_queued_messages 1000000
                max_inflight_messages 0
                log_dest stderr
                log_type error
                log_type warning
                """.write(to: file, atomically: true, encoding: .utf8)
            return ["-c", file.path]
        case .nats:
            let file = directory.appendingPathComponent("nats.conf")
            try """
                listen: 127.0.0.1:\(port)
                max_connections: 100000
                max_payload: 1MB
                max_pending: 256MB
                jetstream {
                  store_dir: "\(directory.path)/jetstream"
                  max_memory_store: 1GB
                  max_file_store: 16GB
                }
                """.write(to: file, atomically: true, encoding: .utf8)
            return ["-c", file.path]
        }
    }

    /// The load generator's driver for this broker's protocol, on a fresh topic named `run`.
    func driver(port: UInt16, run: String) throws(BenchError) -> LoadDriver {
        switch self {
        case .polder: try PolderDriver(port: port, run: run)
        case .mosquitto: MQTTDriver(port: port, run: run)
        case .nats: NATSDriver(port: port, run: run)
        }
    }

    private static func find(_ name: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/usr/bin:/usr/local/sbin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
