import ArgumentParser
import Foundation
import Platform
import PolderClient
import Sodium
import Wire

/// `polder-bench`: measures a real `polderd` over loopback and sets the figures beside this
/// machine's own limits (Ed25519 verify rate, fsync rate).
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polder-bench",
        abstract: "Benchmark polderd over loopback: delivery, latency, durable publishing, offline queues and start-up.")

    @Option(help: "Events in the throughput run.")
    var events = 50_000

    @Option(help: "Events in flight (pipelined publishes per batch).")
    var window = 512

    @Option(help: "Events in the latency run (one at a time).")
    var latencyEvents = 2_000

    @Option(help: "Plaintext bytes per event.")
    var payload = 128

    @Option(help: "Signature-verifier threads in the broker.")
    var verifierThreads = 2

    @Option(help: "Events queued for an offline durable subscriber (0 skips the run).")
    var queuedEvents = 100_000

    @Option(help: "Events in the store for the start-up run (0 skips the run).")
    var startupEvents = 1_000_000

    func run() async throws {
        Console.standardOutput("polder-bench: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(payload) B payloads")
        var table = Table()
        let verifyRate = measureVerifyRate(seconds: 1)
        table.add("Ed25519 verify/s, one core", String(format: "%.0f", verifyRate))

        let daemon = try BrokerProcess(verifierThreads: verifierThreads)
        defer { daemon.stop() }
        let address = try daemon.waitForAddress()
        let fsyncRate = try measureFsyncRate(in: daemon.directory, seconds: 1)
        table.add("fsync/s (4 KiB write + fdatasync) on the store's disk", String(format: "%.0f", fsyncRate))

        var options = PolderClient.Options()
        options.verifyDeliveries = false  // measure the broker, not this process's checks
        let load = try await Load(address: address, payload: payload, options: options)

        Console.standardOutput("  latency: \(latencyEvents) events, one in flight...")
        let latencies = try await load.latencies(count: latencyEvents)
        table.add("latency p50 / p90 / p99 / max (µs), one in flight, publish → delivery",
                  String(format: "%.0f / %.0f / %.0f / %.0f", latencies.percentile(0.5), latencies.percentile(0.9),
                         latencies.percentile(0.99), latencies.last ?? 0))

        Console.standardOutput("  throughput: \(events) events, window \(window)...")
        let rate = try await load.throughput(count: events, window: window)
        table.add("events/s delivered, 1 → 1, window \(window)", String(format: "%.0f", rate))
        table.add("broker events/s ÷ one core's verify rate", String(format: "%.2f", rate / verifyRate))

        Console.standardOutput("  durable publishing: acknowledged after fsync...")
        let single = try await load.acknowledgedRate(count: 2_000, window: 1)
        let grouped = try await load.acknowledgedRate(count: events, window: window)
        table.add("acknowledged durable publishes/s, one in flight", String(format: "%.0f", single))
        table.add("acknowledged durable publishes/s, window \(window) (group commit)", String(format: "%.0f", grouped))
        table.add("group commit ÷ single fsync rate", String(format: "%.1f", grouped / fsyncRate))

        if queuedEvents > 0 {
            Console.standardOutput("  offline queue: \(queuedEvents) events for a durable subscriber that is away...")
            let before = daemon.resident
            let replay = try await load.offlineQueue(count: queuedEvents, window: window) { daemon.resident }
            func mebibytes(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }
            table.add("broker RSS before / with \(queuedEvents) queued events (MiB)",
                      "\(mebibytes(before.total)) / \(mebibytes(replay.resident.total))")
            table.add("of which anonymous (heap), before / with the queue (MiB); the rest is the store's mapped file",
                      "\(mebibytes(before.anonymous)) / \(mebibytes(replay.resident.anonymous))")
            table.add("replay to a reconnecting durable subscriber, events/s", String(format: "%.0f", replay.rate))
        }
        load.close()

        if startupEvents > 0 {
            Console.standardOutput("  start-up: filling a store with \(startupEvents) events...")
            let startup = try StartupRun(events: startupEvents, payload: payload, verifierThreads: verifierThreads)
            let (empty, full) = try startup.measure()
            table.add("start-up to listening, empty store (ms)", String(format: "%.0f", empty * 1000))
            table.add("start-up to listening, \(startupEvents) stored events (ms)", String(format: "%.0f", full * 1000))
        }
        table.print()
    }

    /// Ed25519 verifications per second on one thread.
    func measureVerifyRate(seconds: Double) -> Double {
        let keyPair = SigningKeyPair()
        let message = [UInt8](repeating: 1, count: 200)
        let signature = keyPair.signature(for: message)
        let start = Environment.monotonicNanoseconds()
        var count = 0
        while Double(Environment.monotonicNanoseconds() - start) < seconds * 1e9 {
            for _ in 0..<100 { _ = keyPair.publicKey.isValidSignature(signature, for: message) }
            count += 100
        }
        return Double(count) / (Double(Environment.monotonicNanoseconds() - start) / 1e9)
    }

    /// Single durable writes per second: 4 KiB written and fdatasync'ed, over and over.
    func measureFsyncRate(in directory: URL, seconds: Double) throws -> Double {
        let path = directory.appendingPathComponent("fsync-probe").path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw ValidationError("cannot create \(path)") }
        defer { close(descriptor); unlink(path) }
        let block = [UInt8](repeating: 7, count: 4096)
        let start = Environment.monotonicNanoseconds()
        var count = 0
        while Double(Environment.monotonicNanoseconds() - start) < seconds * 1e9 {
            _ = block.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, 4096, off_t(count % 256) * 4096) }
            fdatasync(descriptor)
            count += 1
        }
        return Double(count) / (Double(Environment.monotonicNanoseconds() - start) / 1e9)
    }
}

/// The figures, printed as one markdown table at the end.
struct Table {
    private var rows: [(String, String)] = []

    mutating func add(_ figure: String, _ value: String) {
        rows.append((figure, value))
        Console.standardOutput("    \(figure): \(value)")
    }

    func print() {
        Console.standardOutput("")
        Console.standardOutput("| figure | value |")
        Console.standardOutput("|---|---|")
        for (figure, value) in rows { Console.standardOutput("| \(figure) | \(value) |") }
    }
}

extension [Double] {
    /// The value below which `fraction` of the (sorted) values fall.
    func percentile(_ fraction: Double) -> Double {
        isEmpty ? 0 : self[Swift.min(count - 1, Int(Double(count) * fraction))]
    }
}
