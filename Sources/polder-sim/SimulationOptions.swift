import ArgumentParser

/// What one simulator run does, straight from the command line.
struct SimulationOptions: ParsableArguments {
    @Option(help: "Brokers in the network.") var brokers = 1000
    @Option(help: "Distinct topics.") var topics = 100
    @Option(help: "Topics each broker serves.") var topicsPerBroker = 5
    @Option(help: "Topic popularity: uniform or zipf (exponent 1: a few topics on many brokers).") var distribution = "uniform"
    @Option(name: .customLong("warm-up"), help: "Rounds (1 s periods) for the overlay to form before publishing.")
    var warmUpRounds = 40
    @Option(help: "Events published after the warm-up.") var events = 200
    @Option(help: "Events published per round.") var eventsPerRound = 20
    @Option(help: "Fraction of brokers that vanish without notice when publishing starts (0…1).") var churn = 0.0
    @Option(name: .customLong("partition"), help: "Rounds during which the network is split in two halves (both publish).")
    var partitionRounds = 0
    @Option(name: .customLong("repair"), help: "Rounds after the last event for repair.") var repairRounds = 30
    @Option(help: "PolderCast fanout F.") var fanout = 5
    @Option(help: "Random seed; the same seed repeats a run exactly.") var seed: UInt64 = 1

    var zipf: Bool { distribution == "zipf" }

    func validate() throws {
        guard brokers >= 2, topics >= 1, topicsPerBroker >= 1, events >= 0, eventsPerRound >= 1 else {
            throw ValidationError("brokers must be at least 2; topics, topics per broker and events per round at least 1")
        }
        guard (0.0..<1.0).contains(churn) else { throw ValidationError("--churn is a fraction from 0 up to (not including) 1") }
        guard ["uniform", "zipf"].contains(distribution) else { throw ValidationError("--distribution is uniform or zipf") }
        guard fanout >= 2 else { throw ValidationError("--fanout is at least 2 (both ring neighbours)") }
    }
}
