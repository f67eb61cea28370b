import ArgumentParser
import Platform

/// `polder-sim`: the overlay's state machines for N brokers in one process, with churn and
/// partitions, printing the figures that PolderCast, RingCast and GossipSub are judged by.
@main
struct SimulatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polder-sim",
        abstract: "Simulate the Polder overlay (CYCLON, VICINITY, rings, PolderCast, causal repair) for N brokers without sockets.")

    @Option(help: "Brokers in the network.") var brokers = 1000
    @Option(help: "Distinct topics.") var topics = 100
    @Option(help: "Topics each broker serves.") var topicsPerBroker = 5
    @Option(help: "Topic popularity: uniform or zipf (exponent 1).") var distribution = "uniform"
    @Option(help: "Rounds (1 s periods) for the overlay to form before publishing.") var warmUp = 40
    @Option(help: "Events published after the warm-up.") var events = 200
    @Option(help: "Events published per round.") var eventsPerRound = 20
    @Option(help: "Fraction of brokers that vanish when publishing starts (0…1).") var churn = 0.0
    @Option(help: "Rounds during which the network is split in two halves (both publish).") var partition = 0
    @Option(help: "Rounds after the last event for repair.") var repair = 30
    @Option(help: "PolderCast fanout F.") var fanout = 5
    @Option(help: "Random seed; the same seed repeats a run exactly.") var seed: UInt64 = 1

    func validate() throws {
        guard brokers >= 2, topics >= 1, topicsPerBroker >= 1, events >= 0, eventsPerRound >= 1 else {
            throw ValidationError("brokers must be at least 2; topics, topics per broker and events per round at least 1")
        }
        guard (0.0..<1.0).contains(churn) else { throw ValidationError("--churn is a fraction from 0 up to (not including) 1") }
        guard ["uniform", "zipf"].contains(distribution) else { throw ValidationError("--distribution is uniform or zipf") }
        guard fanout >= 2 else { throw ValidationError("--fanout is at least 2 (both ring neighbours)") }
    }

    func run() throws {
        var options = SimulationOptions()
        options.brokers = brokers
        options.topics = topics
        options.topicsPerBroker = topicsPerBroker
        options.zipf = distribution == "zipf"
        options.warmUpRounds = warmUp
        options.events = events
        options.eventsPerRound = eventsPerRound
        options.churn = churn
        options.partitionRounds = partition
        options.repairRounds = repair
        options.fanout = fanout
        options.seed = seed
        let started = Environment.monotonicNanoseconds()
        let simulation = Simulation(options: options)
        simulation.build()
        let statistics = simulation.run { line in Console.standardError("polder-sim: \(line)") }
        let seconds = Double(Environment.monotonicNanoseconds() - started) / 1e9
        SimulationReport(options: options, statistics: statistics, seconds: seconds).print()
    }
}
