import ArgumentParser
import Platform

/// `polder-sim`: the overlay's state machines for N brokers in one process, with churn and
/// partitions, printing the figures that PolderCast, RingCast and GossipSub are judged by.
@main
struct SimulatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polder-sim",
        abstract: "Simulate the Polder overlay (CYCLON, VICINITY, rings, PolderCast, causal repair) for N brokers without sockets.")

    @OptionGroup var options: SimulationOptions

    func run() throws {
        let started = Environment.monotonicNanoseconds()
        let simulation = Simulation(options: options)
        simulation.build()
        let statistics = simulation.run { line in Console.standardError("polder-sim: \(line)") }
        let seconds = Double(Environment.monotonicNanoseconds() - started) / 1e9
        SimulationReport(options: options, statistics: statistics, seconds: seconds).print()
    }
}
