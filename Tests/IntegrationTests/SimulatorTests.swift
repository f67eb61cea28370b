import Foundation
import Testing

/// Properties of the overlay at scale, checked by running `polder-sim` (the release build, which
/// deploy/test.sh makes: the simulation is too slow unoptimised) on the production state machines.
@Suite(.serialized) struct SimulatorTests {
    /// Runs polder-sim with `arguments` and returns its report as name → value.
    private func simulate(_ arguments: [String], seconds: Double = 300) async throws -> [String: String] {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let release = binaryDirectory.deletingLastPathComponent().appendingPathComponent("release")
        let simulator = try ChildProcess("polder-sim", arguments, in: directory, binaryDirectory: release)
        let status = try await simulator.wait(seconds: seconds)
        #expect(status == 0, "polder-sim failed: \(simulator.stderr)")
        var report: [String: String] = [:]
        for line in simulator.stdoutLines {
            guard let split = line.range(of: "  ") else { continue }
            report[String(line[..<split.lowerBound])] = line[split.upperBound...].trimmingCharacters(in: .whitespaces)
        }
        return report
    }

    private func percent(_ value: String?) -> Double { Double(value?.split(separator: " ").first ?? "") ?? -1 }

    private func number(_ value: String?, part: Int = 0) -> Double {
        Double(value?.split(separator: "/")[part].trimmingCharacters(in: .whitespaces) ?? "") ?? -1
    }

    @Test func badOptionsAreRefusedWithTheReason() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let release = binaryDirectory.deletingLastPathComponent().appendingPathComponent("release")
        for (arguments, reason) in [(["--churn", "1.5"], "--churn is a fraction"), (["--distribution", "pareto"], "uniform or zipf"),
                                    (["--fanout", "1"], "--fanout is at least 2"), (["--brokers", "1"], "brokers must be at least 2")] {
            let simulator = try ChildProcess("polder-sim", arguments, in: directory, binaryDirectory: release)
            #expect(try await simulator.wait(seconds: 30) != 0)
            #expect(simulator.stderr.contains(reason), "\(arguments): \(simulator.stderr)")
        }
    }

    @Test func everyEventReachesEveryBrokerWithoutChurnAt1000Brokers() async throws {
        let report = try await simulate(["--brokers", "1000", "--events", "200", "--seed", "11"])
        #expect(percent(report["delivery ratio after repair"]) == 100)
        #expect(percent(report["ring completeness at the end"]) == 100)
        #expect(report["double deliveries / causal-order violations"] == "0 / 0")
        // PolderCast with F = 5: each broker hears an event about F times, so F − 1 duplicates at most on average.
        #expect(number(report["duplicates per broker per event"]) <= 4.5)
        #expect(number(report["hops, mean / p99"]) < 5)
    }

    @Test func atLeast999PerMilleAfterRecoveryFromTenPercentChurn() async throws {
        let report = try await simulate(["--brokers", "1000", "--churn", "0.1", "--events", "200", "--seed", "12"])
        #expect(percent(report["delivery ratio after repair"]) >= 99.9)
        #expect(report["double deliveries / causal-order violations"] == "0 / 0")
        #expect(number(report["duplicates per broker per event"]) <= 4.5)
    }

    @Test func aPartitionHealsWithEveryEventInCausalOrderAndNoDuplicates() async throws {
        let report = try await simulate(["--brokers", "400", "--topics", "40", "--partition", "20", "--repair", "40", "--seed", "13"])
        #expect(percent(report["delivery ratio, push only (same round)"]) < 90, "the partition really cut the network")
        #expect(percent(report["delivery ratio after repair"]) == 100)
        #expect(report["double deliveries / causal-order violations"] == "0 / 0")
    }
}
