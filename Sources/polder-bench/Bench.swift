import ArgumentParser
import Foundation
import Platform
import Sodium

/// `polder-bench`: Polder, Mosquitto and NATS side by side on this machine, each driven by the
/// same load generator over loopback, in one table with Polder/peer ratios.
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polder-bench",
        abstract: "Benchmark polderd beside Mosquitto and NATS: throughput, fan-out, latency, durable publishing, offline queues, idle connections.",
        discussion: "Install the peers with deploy/bench.sh, which builds and runs this. A broker whose executable is missing is left out.")

    @Option(help: "Brokers to run, comma-separated: polder, mosquitto, nats.")
    var brokers = "polder,mosquitto,nats"

    @Option(help: "Scenarios to run, comma-separated: throughput, fanout, latency, durable, queue, idle.")
    var scenarios = "throughput,fanout,latency,durable,queue,idle"

    @Option(name: .customLong("broker-cpus"), help: "CPUs the broker is pinned to (taskset list); empty for no pinning.")
    var brokerCPUs = "0"

    @Option(name: .customLong("load-cpus"), help: "CPUs the load generator is pinned to; empty for no pinning.")
    var loadCPUs = "1"

    @Option(help: "Events per 1 → 1 throughput run.")
    var events = 100_000

    @Option(help: "Events per fan-out run (each goes to every subscriber).")
    var fanOutEvents = 10_000

    @Option(help: "Subscribers in the fan-out run.")
    var fanOutSubscribers = 100

    @Option(help: "Events the publisher may be ahead of the slowest subscriber.")
    var window = 1000

    @Option(help: "Seconds of each open-loop latency run.")
    var latencySeconds = 5.0

    @Option(help: "Acknowledged publishes in the windowed durable run.")
    var durableEvents = 20_000

    @Option(help: "Events queued for an offline durable subscriber.")
    var queuedEvents = 100_000

    @Option(help: "Idle connections opened for the memory-per-connection figure.")
    var idleConnections = 10_000

    @Option(help: "Rounds of every scenario. The brokers take turns within a round, each round starting with the next; the table gives each figure's median, and a second table its lowest and highest.")
    var rounds = 5

    @Option(help: "Seconds each scenario may take per broker before it counts as failed.")
    var timeout = 120.0

    @Option(help: "Events, each signed alone, for Polder's figure of signature checks on one core and on all.")
    var signedAloneEvents = 20_000

    @Option(help: "Events in Polder's store for its start-up figure (0 leaves it out).")
    var startupEvents = 0

    func validate() throws {
        guard events > 0, rounds > 0, signedAloneEvents > 0, fanOutEvents > 0, fanOutSubscribers > 0, window > 0, latencySeconds > 0, durableEvents > 0,
              queuedEvents > 0, idleConnections > 0, timeout > 0 else {
            throw ValidationError("counts, rounds, the window, durations and the timeout must be above zero")
        }
    }

    func run() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let pinning = cores >= 2 && !brokerCPUs.isEmpty && !loadCPUs.isEmpty
        let selected = try brokers.split(separator: ",").map { name in
            guard let kind = BrokerKind(rawValue: String(name)) else { throw ValidationError("unknown broker '\(name)'") }
            return kind
        }
        raiseOpenFileLimit()
        BrokerProcess.stopBrokersOnSignals()
        if pinning { try pinSelf(to: loadCPUs) }
        Console.standardOutput("polder-bench on \(Machine.description)")
        Console.standardOutput(pinning ? "brokers pinned to CPU \(brokerCPUs), load generator to CPU \(loadCPUs)" : "no CPU pinning")

        var available: [(BrokerKind, String)] = []
        for kind in selected {
            guard let executable = kind.executable else {
                Console.standardOutput("\(kind.name): not installed, left out (deploy/bench.sh installs it)")
                continue
            }
            Console.standardOutput("\(kind.name) \(kind.version(of: executable)): \(executable)")
            available.append((kind, executable))
        }
        let brokerThreads = pinning ? brokerCPUs.split(separator: ",").count : cores
        var report = Report(brokers: available.map(\.0))
        let settings = Scenarios(events: events, fanOutEvents: fanOutEvents, fanOutSubscribers: fanOutSubscribers, window: window,
                                 latencySeconds: latencySeconds, durableEvents: durableEvents, queuedEvents: queuedEvents,
                                 idleConnections: idleConnections, timeout: timeout)
        let chosen = Set(scenarios.split(separator: ",").map(String.init))

        /// Runs `body` once per broker and round, each in a fresh broker process, and records its
        /// figures. Taking turns spreads the machine's drift over all brokers alike.
        func scenario(_ name: String, _ rows: [(String, Report.Better, Int)], _ body: (BrokerProcess) throws -> [Double]) {
            guard chosen.contains(name) else { return }
            Console.standardOutput("\n\(name):")
            for round in 0..<rounds {
                let roundText = rounds > 1 ? " (round \(round + 1) of \(rounds))" : ""
                for turn in available.indices {
                    let (kind, executable) = available[(turn + round) % available.count]
                    Console.standardOutput("  \(kind.name)\(roundText)...")
                    let result = Result { () throws(BenchError) -> [Double] in
                        do {
                            let broker = try BrokerProcess(kind, executable: executable, cpus: pinning ? brokerCPUs : nil, brokerThreads: brokerThreads)
                            defer { broker.stop() }
                            return try body(broker)
                        } catch let error as BenchError {
                            throw error
                        } catch {
                            throw BenchError("\(error)")
                        }
                    }
                    for (index, row) in rows.enumerated() {
                        report.record(row.0, row.1, decimals: row.2, kind, result.map { $0[index] })
                    }
                }
            }
        }

        for payload in [128, 1024] {
            scenario("throughput", [("1 → 1, \(payload) B: events/s", .higher, 0),
                                    ("1 → 1, \(payload) B: broker CPU s per million events", .lower, 2)]) { broker in
                let figures = try settings.throughput(broker, payload: payload, count: events, subscribers: 1)
                return [figures.rate, figures.cpuPerMillion]
            }
        }
        scenario("fanout", [("fan-out 1 → \(fanOutSubscribers): deliveries/s", .higher, 0),
                            ("fan-out: broker CPU s per million deliveries", .lower, 2)]) { broker in
            let figures = try settings.throughput(broker, payload: 128, count: fanOutEvents, subscribers: fanOutSubscribers)
            return [figures.rate, figures.cpuPerMillion]
        }
        for rate in [1_000, 10_000] {
            scenario("latency", [("latency at \(rate)/s, p50 µs", .lower, 0), ("latency at \(rate)/s, p99 µs", .lower, 0),
                                 ("latency at \(rate)/s, p99.9 µs", .lower, 0)]) { broker in
                let histogram = try settings.latency(broker, rate: rate)
                return [50.0, 99.0, 99.9].map { Double(histogram.valueAtPercentile($0)) / 1000 }
            }
        }
        scenario("durable", [("durable acknowledged publishes/s, 1 in flight", .higher, 0),
                             ("durable acknowledged publishes/s, \(settings.durableWindow) in flight", .higher, 0),
                             ("durable: broker CPU s per million publishes", .lower, 2)]) { broker in
            let figures = try settings.durablePublishing(broker)
            return [figures.single, figures.windowed, figures.cpuPerMillion]
        }
        scenario("queue", [("offline queue: broker RSS with \(queuedEvents) queued (MiB)", .lower, 1),
                           ("offline queue: of it anonymous (heap; MiB)", .lower, 1),
                           ("offline queue: replay events/s", .higher, 0)]) { broker in
            let figures = try settings.offlineQueue(broker)
            return [Double(figures.resident) / 1_048_576, Double(figures.anonymous) / 1_048_576, figures.replayRate]
        }
        scenario("idle", [("\(idleConnections) idle connections: broker RSS per connection (KiB)", .lower, 2)]) { broker in
            [try settings.idleConnections(broker) / 1024]
        }

        Console.standardOutput("\nPolder alone:")
        Console.standardOutput("  Ed25519 verifications/s, one core: \(Int(measureVerifyRate(seconds: 1)))")
        Console.standardOutput("  fsync/s (4 KiB write + fdatasync) in \(FileManager.default.temporaryDirectory.path): \(Int(try measureFsyncRate(seconds: 1)))")
        if pinning, chosen.contains("throughput"), let polder = available.first(where: { $0.0 == .polder }) {
            Console.standardOutput("  1 → 1, 128 B, each event signed alone, broker on CPU \(brokerCPUs) and then on all \(cores) CPUs...")
            do {
                let rates = try [(brokerCPUs, brokerThreads), ("0-\(cores - 1)", cores)].map { (cpus, threads) throws -> Double in
                    let broker = try BrokerProcess(.polder, executable: polder.1, cpus: cpus, brokerThreads: threads)
                    defer { broker.stop() }
                    return try settings.throughput(broker, payload: 128, count: signedAloneEvents, subscribers: 1, signedAlone: true).rate
                }
                Console.standardOutput("  1 → 1, 128 B, each event signed alone: \(Int(rates[0])) events/s on CPU \(brokerCPUs), \(Int(rates[1])) on all \(cores) CPUs"
                                       + String(format: " (%.2f times)", rates[1] / rates[0]))
            } catch {
                // The table still comes: this figure is an extra.
                Console.standardOutput("  1 → 1, 128 B, each event signed alone: failed: \(error)")
            }
        }
        if startupEvents > 0, let polder = available.first(where: { $0.0 == .polder }) {
            Console.standardOutput("  start-up: filling a store with \(startupEvents) events...")
            let startup = try StartupRun(events: startupEvents, payload: 128)
            let (empty, full) = try startup.measure(executable: polder.1, cpus: pinning ? brokerCPUs : nil, brokerThreads: brokerThreads)
            Console.standardOutput(String(format: "  start-up to listening: %.0f ms empty, %.0f ms with %d stored events", empty * 1000, full * 1000, startupEvents))
        }
        Console.standardOutput("\n" + report.markdown())
        if rounds > 1 { Console.standardOutput("\nOver \(rounds) rounds:\n\n" + report.spreadMarkdown()) }
    }

    /// Ten thousand connections need more descriptors than the usual soft limit.
    func raiseOpenFileLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = max(limit.rlim_cur, min(limit.rlim_max, 1 << 20))
        if getuid() == 0 { limit.rlim_max = max(limit.rlim_max, 1 << 20); limit.rlim_cur = limit.rlim_max }
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// Pins every thread of this process to `cpus`, so the generator never competes with the broker.
    func pinSelf(to cpus: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        process.arguments = ["-a", "-cp", cpus, String(getpid())]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("taskset could not pin the load generator to CPU \(cpus)") }
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
    func measureFsyncRate(seconds: Double) throws -> Double {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("polder-bench-fsync-\(getpid())").path
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
