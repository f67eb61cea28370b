import Foundation
import Testing

/// `polder-bench` end to end against `polderd` (the peers' figures need Mosquitto and NATS, which
/// deploy/bench.sh installs; their drivers run there): every scenario at small counts, the table
/// it prints, its refusals of bad options, and the broker processes it leaves behind (none).
@Suite(.serialized, .timeLimit(.minutes(5))) struct BenchTests {
    /// The table's rows for Polder alone: figure → value.
    private func table(_ output: [String]) -> [String: Double] {
        var rows: [String: Double] = [:]
        for line in output where line.hasPrefix("| ") && (line.contains("↑") || line.contains("↓")) {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2 else { continue }
            let figure = cells[0].replacingOccurrences(of: " ↑", with: "").replacingOccurrences(of: " ↓", with: "")
            rows[figure] = Double(cells[1].replacingOccurrences(of: ",", with: "")) ?? -1
        }
        return rows
    }

    private func brokerDirectories() -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path)) ?? []
        return Set(names.filter { $0.hasPrefix("polder-bench-polder-") })
    }

    @Test func everyScenarioRunsAgainstPolderdAndPrintsItsFigures() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let before = brokerDirectories()
        let bench = try ChildProcess("polder-bench", [
            "--brokers", "polder", "--events", "300", "--fan-out-events", "50", "--fan-out-subscribers", "4", "--window", "100",
            "--latency-seconds", "0.5", "--durable-events", "200", "--queued-events", "300", "--idle-connections", "50",
            "--signed-alone-events", "200", "--timeout", "60", "--rounds", "2",
        ], in: directory)
        let status = try await bench.wait(seconds: 240)
        #expect(status == 0, "polder-bench failed: \(bench.stderr)\n\(bench.stdout)")
        let output = bench.stdoutLines
        let rows = table(output)
        let expected = [
            "1 → 1, 128 B: events/s", "1 → 1, 128 B: broker CPU s per million events",
            "1 → 1, 1024 B: events/s", "1 → 1, 1024 B: broker CPU s per million events",
            "fan-out 1 → 4: deliveries/s", "fan-out: broker CPU s per million deliveries",
            "latency at 1000/s, p50 µs", "latency at 1000/s, p99 µs", "latency at 1000/s, p99.9 µs",
            "latency at 10000/s, p50 µs", "latency at 10000/s, p99 µs", "latency at 10000/s, p99.9 µs",
            "durable acknowledged publishes/s, 1 in flight", "durable acknowledged publishes/s, 256 in flight",
            "durable: broker CPU s per million publishes",
            "offline queue: broker RSS with 300 queued (MiB)", "offline queue: of it anonymous (heap; MiB)",
            "offline queue: replay events/s", "50 idle connections: broker RSS per connection (KiB)",
        ]
        for figure in expected {
            #expect((rows[figure] ?? -1) >= 0, "\(figure): \(rows[figure].map { "\($0)" } ?? "missing") in\n\(bench.stdout)")
        }
        #expect(rows.count == expected.count, "unexpected rows: \(Set(rows.keys).subtracting(expected))")
        // Rates and latencies measured, not left at zero.
        for figure in expected where figure.hasSuffix("/s") || figure.contains("p50") { #expect(rows[figure]! > 0, "\(figure) is zero") }
        #expect(output.contains { $0.contains("Polder: 1 → 1, 128 B: events/s:") }, "no progress lines")
        // Two rounds of each scenario, and each figure's spread over them in a second table.
        #expect(output.contains("  Polder (round 2 of 2)..."), "no second round")
        #expect(output.filter { $0.hasPrefix("    Polder: latency at 1000/s, p50 µs: ") }.count == 2)
        let spread = output.drop { $0 != "Over 2 rounds:" }.filter { $0.hasPrefix("| ") }
        #expect(spread.count == expected.count + 1, "spread table:\n\(bench.stdout)")
        for line in spread.dropFirst() {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let bounds = cells.count == 2 ? cells[1].split(separator: "–").compactMap { Double($0.replacingOccurrences(of: ",", with: "")) } : []
            #expect(bounds.count == 2 && bounds[0] <= bounds[1], "not a lowest–highest pair: \(line)")
            if bounds.count == 2, let median = rows[cells[0]] {
                #expect(bounds[0] <= median && median <= bounds[1], "\(cells[0]): median \(median) outside \(line)")
            }
        }
        #expect(output.contains { $0.hasPrefix("  Ed25519 verifications/s, one core: ") })
        if ProcessInfo.processInfo.activeProcessorCount >= 2 {
            #expect(output.contains { $0.hasPrefix("  1 → 1, 128 B, each event signed alone: ") && $0.contains(" on all ") },
                    "no figure for signatures checked on all CPUs:\n\(bench.stdout)")
        }
        // Each scenario's broker was stopped and its directory removed.
        #expect(brokerDirectories().subtracting(before).isEmpty)
    }

    @Test func badOptionsAreRefusedWithTheReason() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for (arguments, reason) in [(["--events", "0"], "must be above zero"), (["--brokers", "rabbitmq"], "unknown broker 'rabbitmq'"),
                                    (["--timeout", "0"], "must be above zero"),
                                    (["--rounds", "0"], "must be above zero")] {
            let bench = try ChildProcess("polder-bench", arguments + ["--scenarios", "idle"], in: directory)
            #expect(try await bench.wait(seconds: 30) != 0, "\(arguments) was taken")
            #expect(bench.stderr.contains(reason), "\(arguments): \(bench.stderr)")
        }
    }
}
