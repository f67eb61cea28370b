import Platform

/// Prints one run's figures as a table.
struct SimulationReport {
    let options: SimulationOptions
    let statistics: SimulationStatistics
    let seconds: Double

    func print() {
        let s = statistics
        let perEvent = s.events == 0 ? 0 : Double(s.eventMessages) / Double(s.events)
        let duplicates = s.deliveries == 0 ? 0 : Double(s.duplicateReceipts) / Double(s.deliveries)
        let rows: [(String, String)] = [
            ("brokers / topics / topics per broker", "\(options.brokers) / \(options.topics) / \(options.topicsPerBroker) (\(options.zipf ? "zipf" : "uniform"))"),
            ("churn / partition rounds / fanout", "\(percent(options.churn)) / \(options.partitionRounds) / \(options.fanout)"),
            ("rounds to converge (100 % rings)", s.roundsToConverge.map(String.init) ?? "not within \(options.warmUpRounds)"),
            ("ring completeness after warm-up", percent(s.completenessAfterWarmUp)),
            ("ring completeness at the end", percent(s.ringCompleteness)),
            ("events published", "\(s.events)"),
            ("delivery ratio, push only (same round)", percent(s.pushDelivery)),
            ("delivery ratio after repair", percent(s.delivery)),
            ("hops, mean / p99", "\(fixed(s.meanHops)) / \(s.p99Hops)"),
            ("duplicates per broker per event", fixed(duplicates)),
            ("event messages per event", fixed(perEvent)),
            ("overlay messages per broker per round", fixed(s.controlMessagesPerBrokerPerRound)),
            ("double deliveries / causal-order violations", "\(s.doubleDeliveries) / \(s.causalViolations)"),
            ("skipped ranges / unavailable dependencies", "\(s.skips) / \(s.unavailableDependencies)"),
            ("peer failures detected", "\(s.peerFailures)"),
            ("wall time", "\(fixed(seconds)) s"),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        for (name, value) in rows {
            Console.standardOutput(name + String(repeating: " ", count: width - name.count) + "  " + value)
        }
    }

    private func fixed(_ value: Double) -> String {
        let scaled = (value * 100).rounded() / 100
        return "\(scaled)"
    }
}
