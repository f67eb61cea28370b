import Foundation
import Testing

/// Where `swift build` put the executables (beside this test bundle).
let binaryDirectory: URL = {
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return executable.deletingLastPathComponent()
}()

func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("polder-it-\(UUID().uuidString.prefix(8))")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

struct ProcessError: Error, CustomStringConvertible {
    let description: String
}

/// A child process with stdout and stderr captured to files, killed if the test forgets it.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    let stdoutURL: URL
    let stderrURL: URL

    /// - Parameters:
    ///   - namespace: a network namespace to run in (through `ip netns exec`).
    ///   - cpus: the CPUs it may run on (through `taskset -c`).
    init(_ name: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil, in directory: URL,
         binaryDirectory: URL = binaryDirectory, namespace: String? = nil, cpus: String? = nil) throws {
        let binary = binaryDirectory.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw ProcessError(description: "\(binary.path) is missing: run 'swift build' before the tests")
        }
        var command = [binary.path] + arguments
        if let cpus { command = ["/usr/bin/taskset", "-c", cpus] + command }
        if let namespace { command = ["/usr/sbin/ip", "netns", "exec", namespace] + command }
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = directory.path
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let id = UUID().uuidString.prefix(8)
        stdoutURL = directory.appendingPathComponent("\(name)-\(id).out")
        stderrURL = directory.appendingPathComponent("\(name)-\(id).err")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        if let stdin {
            // From a file, so a child that stops reading (or dies) never blocks the test.
            let stdinURL = directory.appendingPathComponent("\(name)-\(id).in")
            try Data(stdin.utf8).write(to: stdinURL)
            process.standardInput = try FileHandle(forReadingFrom: stdinURL)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
    }

    deinit { kill() }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }

    /// Waits for exit; kills the process and fails after `seconds`.
    @discardableResult
    func wait(seconds: Double = 30) async throws -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning {
            if Date() > deadline {
                kill()
                throw ProcessError(description: "\(process.executableURL!.lastPathComponent) \(process.arguments!.joined(separator: " ")) did not exit within \(seconds) s; stderr: \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return process.terminationStatus
    }

    /// Waits until stderr contains `text`.
    func waitForStderr(_ text: String, seconds: Double = 20) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !stderr.contains(text) {
            guard process.isRunning, Date() < deadline else {
                throw ProcessError(description: "never saw '\(text)' on stderr; stderr: \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func signal(_ signal: Int32) {
        if process.isRunning { Foundation.kill(process.processIdentifier, signal) }
    }

    func kill() {
        signal(SIGKILL)
        if process.isRunning { process.waitUntilExit() }
    }
}

/// A real `polderd` on an ephemeral loopback port with its own data directory.
final class Polderd: @unchecked Sendable {
    let child: ChildProcess
    let address: String
    let directory: URL
    let dataDirectory: URL
    let arguments: [String]
    let namespace: String?
    /// The peer listener's address, when started with `--peer-listen`.
    let peerAddress: String?
    /// The observability endpoints' address, when started with `--http-listen`.
    let httpAddress: String?

    /// Starts a broker; pass the `directory` of an earlier one to restart it on the same data.
    /// `cpus` pins it (`taskset -c`).
    init(extraArguments: [String] = [], directory: URL? = nil, dataDirectory: URL? = nil, namespace: String? = nil,
         environment: [String: String] = [:], cpus: String? = nil) async throws {
        self.directory = directory ?? temporaryDirectory()
        self.dataDirectory = dataDirectory ?? self.directory.appendingPathComponent("data")
        self.namespace = namespace
        arguments = extraArguments
        child = try ChildProcess("polderd", ["--listen", "127.0.0.1:0", "--data-dir", self.dataDirectory.path] + extraArguments,
                                 environment: environment, in: self.directory, namespace: namespace, cpus: cpus)
        try await child.waitForStderr("listening on ")
        let line = child.stderr.split(separator: "\n").first { $0.contains("listening on ") }!
        address = String(line.split(separator: " ").last!)
        if extraArguments.contains("--peer-listen") {
            try await child.waitForStderr("listening for peers on ")
            let peerLine = child.stderr.split(separator: "\n").first { $0.contains("listening for peers on ") }!
            peerAddress = String(peerLine.split(separator: " ").drop { $0 != "on" }.dropFirst().first!.dropLast())
        } else {
            peerAddress = nil
        }
        if extraArguments.contains("--http-listen") {
            try await child.waitForStderr("serving /healthz")
            let httpLine = child.stderr.split(separator: "\n").first { $0.contains("serving /healthz") }!
            httpAddress = String(httpLine.split(separator: "/").last!)
        } else {
            httpAddress = nil
        }
    }

    /// Stops with SIGTERM and returns the exit status.
    func stop() async throws -> Int32 {
        child.signal(SIGTERM)
        return try await child.wait(seconds: 10)
    }

    /// Starts a new process on the same data (after `stop` or a crash).
    func restarted(extraArguments: [String]? = nil) async throws -> Polderd {
        try await Polderd(extraArguments: extraArguments ?? arguments, directory: directory, dataDirectory: dataDirectory, namespace: namespace)
    }
}

/// Runs the `polder` CLI to completion against `broker` as the identity in `home`.
func polder(_ arguments: [String], home: URL, broker: Polderd?, stdin: String? = nil, seconds: Double = 30) async throws -> ChildProcess {
    var environment = ["POLDER_IDENTITY": home.appendingPathComponent("identity").path]
    if let broker { environment["POLDER_BROKER"] = broker.address }
    let child = try ChildProcess("polder", arguments, environment: environment, stdin: stdin, in: home, namespace: broker?.namespace)
    try await child.wait(seconds: seconds)
    return child
}

/// Starts `polder` in the background.
func polderInBackground(_ arguments: [String], home: URL, broker: Polderd, stdin: String? = nil) throws -> ChildProcess {
    try ChildProcess("polder", arguments, environment: ["POLDER_IDENTITY": home.appendingPathComponent("identity").path,
                                                        "POLDER_BROKER": broker.address], stdin: stdin, in: home, namespace: broker.namespace)
}

/// A person using the CLI: a home directory with an identity.
struct User {
    let home: URL
    let id: String

    init() async throws {
        home = temporaryDirectory()
        let created = try await polder(["identity", "new"], home: home, broker: nil)
        guard created.process.terminationStatus == 0, let id = created.stdoutLines.first else {
            throw ProcessError(description: "identity new failed: \(created.stderr)")
        }
        self.id = id
    }
}

/// Runs a system tool to completion, its output discarded; returns the exit status (-1 if it
/// could not start).
@discardableResult
func runTool(_ path: String, _ arguments: [String]) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return -1 }
    process.waitUntilExit()
    return process.terminationStatus
}
