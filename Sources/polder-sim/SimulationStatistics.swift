/// The figures of one simulator run.
struct SimulationStatistics {
    var roundsToConverge: Int?
    var completenessAfterWarmUp = 0.0
    var ringCompleteness = 0.0
    var events = 0
    var deliveries = 0
    var pushDelivery = 0.0
    var delivery = 0.0
    var meanHops = 0.0
    var p99Hops = 0
    var eventMessages = 0
    var controlMessages = 0
    var controlMessagesPerBrokerPerRound = 0.0
    /// Event messages that reached a broker which already had the event.
    var duplicateReceipts = 0
    /// An event delivered twice at one broker (must stay 0).
    var doubleDeliveries = 0
    var causalViolations = 0
    var skips = 0
    var unavailableDependencies = 0
    var equivocations = 0
    var peerFailures = 0
}
