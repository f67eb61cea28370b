import Foundation
import Platform

/// The comparison table: one row per figure, a column per broker, and Polder/peer ratios. A
/// figure measured over several rounds shows its median, and a second table its spread.
struct Report {
    enum Better { case higher, lower }

    struct Row {
        let figure: String
        let better: Better
        let decimals: Int
        /// Every round's result, in the order measured.
        var samples: [BrokerKind: [Result<Double, BenchError>]] = [:]

        /// The median over the rounds; a failure in any round fails the figure, so that it shows.
        func value(_ broker: BrokerKind) -> Result<Double, BenchError>? {
            guard let results = samples[broker] else { return nil }
            var numbers: [Double] = []
            for result in results {
                switch result {
                case .success(let number): numbers.append(number)
                case .failure(let error): return .failure(error)
                }
            }
            return .success(Report.median(numbers))
        }
    }

    private(set) var rows: [Row] = []
    let brokers: [BrokerKind]

    /// Adds a round's value to a row (made on first use) and prints it as it comes, so a long run
    /// shows progress.
    mutating func record(_ figure: String, _ better: Better, decimals: Int = 0, _ broker: BrokerKind, _ value: Result<Double, BenchError>) {
        if let index = rows.firstIndex(where: { $0.figure == figure }) {
            rows[index].samples[broker, default: []].append(value)
        } else {
            rows.append(Row(figure: figure, better: better, decimals: decimals, samples: [broker: [value]]))
        }
        let text = switch value {
        case .success(let number): format(number, decimals)
        case .failure(let error): "failed: \(error.message)"
        }
        Console.standardOutput("    \(broker.name): \(figure): \(text)")
    }

    /// The middle value (the mean of the middle two for an even count); 0 for none.
    static func median(_ numbers: [Double]) -> Double {
        guard !numbers.isEmpty else { return 0 }
        let sorted = numbers.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    func markdown() -> String {
        let peers = brokers.filter { $0 != .polder }
        var lines = ["| figure | " + brokers.map(\.name).joined(separator: " | ") + " | "
                     + peers.map { "Polder/\($0.name)" }.joined(separator: " | ") + " |"]
        lines.append("|---|" + String(repeating: "---:|", count: brokers.count + peers.count))
        for row in rows {
            let arrow = row.better == .higher ? "↑" : "↓"
            var cells = ["\(row.figure) \(arrow)"]
            for broker in brokers {
                switch row.value(broker) {
                case .success(let number)?: cells.append(format(number, row.decimals))
                case .failure?: cells.append("failed")
                case nil: cells.append("—")
                }
            }
            for peer in peers {
                if case .success(let polder)? = row.value(.polder), case .success(let other)? = row.value(peer), other > 0 {
                    cells.append(String(format: "%.2f", polder / other))
                } else {
                    cells.append("—")
                }
            }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    /// Each figure's lowest and highest value over the rounds, per broker: how far one run can
    /// be trusted on this machine.
    func spreadMarkdown() -> String {
        var lines = ["| figure, lowest–highest | " + brokers.map(\.name).joined(separator: " | ") + " |"]
        lines.append("|---|" + String(repeating: "---:|", count: brokers.count))
        for row in rows {
            var cells = [row.figure]
            for broker in brokers {
                let numbers = (row.samples[broker] ?? []).compactMap { try? $0.get() }
                if let low = numbers.min(), let high = numbers.max(), numbers.count == row.samples[broker]?.count {
                    cells.append("\(format(low, row.decimals))–\(format(high, row.decimals))")
                } else {
                    cells.append(row.samples[broker] == nil ? "—" : "failed")
                }
            }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    private func format(_ number: Double, _ decimals: Int) -> String {
        guard decimals == 0 else { return String(format: "%.\(decimals)f", number) }
        let digits = String(Int(number.rounded()))
        var grouped = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0 && index % 3 == 0 && character != "-" { grouped.append(",") }
            grouped.append(character)
        }
        return String(grouped.reversed())
    }
}
