/// What one simulator run does.
struct SimulationOptions {
    var brokers = 1000
    var topics = 100
    var topicsPerBroker = 5
    /// Topic popularity: uniform, or Zipf with exponent 1 (a few topics on many brokers).
    var zipf = false
    /// Rounds (periods of one second) for the overlay to form before events are published.
    var warmUpRounds = 40
    var events = 200
    var eventsPerRound = 20
    /// Fraction of brokers that vanish without notice when publishing starts.
    var churn = 0.0
    /// Rounds during which the brokers are split in two halves that cannot reach each other.
    var partitionRounds = 0
    /// Rounds after the last event for repair to finish.
    var repairRounds = 30
    var fanout = 5
    var seed: UInt64 = 1
}
