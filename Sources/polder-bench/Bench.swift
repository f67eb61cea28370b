import ArgumentParser
import Foundation
import Platform
import PolderClient
import Sodium
import Wire

/// `polder-bench`: measures a real `polderd` over loopback and sets the figures beside this
/// machine's own Ed25519 verify rate.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polder-bench",
        abstract: "Benchmark polderd: 1 publisher → 1 subscriber over loopback, signatures verified by the broker.")

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

    @Option(help: ArgumentHelp("Use a running broker instead of starting one.", valueName: "HOST:PORT"))
    var broker: String?

    func run() async throws {
        Console.standardOutput("polder-bench: \(events) events of \(payload) B, window \(window); \(ProcessInfo.processInfo.activeProcessorCount) cores")
        let verifyRate = measureVerifyRate(seconds: 1)
        Console.standardOutput(String(format: "  Ed25519 verify on this machine: %.0f/s per core", verifyRate))

        let daemon = try broker == nil ? BrokerProcess(verifierThreads: verifierThreads) : nil
        defer { daemon?.stop() }
        let address = try broker ?? daemon!.waitForAddress()

        let publisherIdentity = SigningKeyPair(), subscriberIdentity = SigningKeyPair()
        var options = PolderClient.Options()
        options.verifyDeliveries = false  // measure the broker, not this process's checks
        let publisher = try await PolderClient.connect(to: address, identity: publisherIdentity, options: options)
        let subscriber = try await PolderClient.connect(to: address, identity: subscriberIdentity, options: options)
        let (descriptor, keys) = try NewTopic.make(name: "bench", owner: publisherIdentity, openPublishing: false, publishers: [],
                                                    readers: [subscriberIdentity.publicKey])
        try await publisher.putTopic(descriptor)
        let access = TopicAccess(descriptor: descriptor.descriptor, identity: publisherIdentity, keys: keys)
        let stream = try await subscriber.subscribe(descriptor.descriptor.topic)
        var iterator = stream.makeAsyncIterator()
        let plaintext = [UInt8](repeating: 0x61, count: payload)

        // Latency: one event at a time, publish call to delivery.
        var latencies: [Double] = []
        var sequence: UInt64 = 0
        for _ in 0..<latencyEvents {
            sequence += 1
            let event = try access.makeEvent(plaintext, sequence: sequence, dependencies: [], time: 0)
            let start = Environment.monotonicNanoseconds()
            async let acknowledged: [EventID] = publisher.publish([event])
            guard case .event(let delivered, _)? = await iterator.next(), delivered.id == event.id else { throw ValidationError("delivery lost") }
            latencies.append(Double(Environment.monotonicNanoseconds() - start) / 1000)
            _ = try await acknowledged
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }

        // Throughput: pipelined batches; the clock stops at the last delivery.
        Console.standardOutput("  signing \(events) events...")
        var batch: [SignedEvent] = []
        var batches: [[SignedEvent]] = []
        for _ in 0..<events {
            sequence += 1
            batch.append(try access.makeEvent(plaintext, sequence: sequence, dependencies: [], time: 0))
            if batch.count == window { batches.append(batch); batch = [] }
        }
        if !batch.isEmpty { batches.append(batch) }
        let start = Environment.monotonicNanoseconds()
        let consumer = Task {
            var count = 0
            while count < events, await iterator.next() != nil { count += 1 }
            return (count, Environment.monotonicNanoseconds())
        }
        for batch in batches { try await publisher.publish(batch) }
        let (delivered, end) = await consumer.value
        let seconds = Double(end - start) / 1e9
        let rate = Double(delivered) / seconds

        Console.standardOutput("")
        Console.standardOutput("| figure | value |")
        Console.standardOutput("|---|---|")
        Console.standardOutput(String(format: "| events/s, 1 → 1, %d B, window %d | %.0f |", payload, window, rate))
        Console.standardOutput(String(format: "| latency p50 / p90 / p99 / max (µs), one in flight | %.0f / %.0f / %.0f / %.0f |",
                                      percentile(0.5), percentile(0.9), percentile(0.99), latencies.last ?? 0))
        Console.standardOutput(String(format: "| Ed25519 verify/s, one core | %.0f |", verifyRate))
        Console.standardOutput(String(format: "| broker events/s ÷ one core's verify rate | %.2f |", rate / verifyRate))
        if delivered < events { throw ValidationError("only \(delivered) of \(events) events were delivered") }
        publisher.close()
        subscriber.close()
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
}

/// A `polderd` started from beside this binary on a free loopback port.
final class BrokerProcess {
    let process = Process()
    let log: URL
    let directory: URL

    init(verifierThreads: Int) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("polder-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        log = directory.appendingPathComponent("polderd.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("polderd")
        process.executableURL = binary
        process.arguments = ["--listen", "127.0.0.1:0", "--data-dir", directory.appendingPathComponent("data").path,
                             "--verifier-threads", String(verifierThreads), "--log-level", "notice"]
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    func waitForAddress() throws -> String {
        for _ in 0..<500 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("listening on ") }) {
                return String(line.split(separator: " ").last!)
            }
            guard process.isRunning else { throw ValidationError("polderd exited: \(text)") }
            usleep(10_000)
        }
        throw ValidationError("polderd did not start listening within 5 s")
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}
