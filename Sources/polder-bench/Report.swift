import Foundation
import Platform

/// The comparison table: one row per figure, a column per broker, and Polder/peer ratios.
struct Report {
    enum Better { case higher, lower }

    struct Row {
        let figure: String
        let better: Better
        let decimals: Int
        var values: [BrokerKind: Result<Double, BenchError>] = [:]
    }

    private(set) var rows: [Row] = []
    let brokers: [BrokerKind]

    /// Adds (or fills) a row and prints the value as it comes, so a long run shows progress.
    mutating func record(_ figure: String, _ better: Better, decimals: Int = 0, _ broker: BrokerKind, _ value: Result<Double, BenchError>) {
        if let index = rows.firstIndex(where: { $0.figure == figure }) {
            rows[index].values[broker] = value
        } else {
            rows.append(Row(figure: figure, better: better, decimals: decimals, values: [broker: value]))
        }
        let text = switch value {
        case .success(let number): format(number, decimals)
        case .failure(let error): "failed: \(error.message)"
        }
        Console.standardOutput("    \(broker.name): \(figure): \(text)")
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
                switch row.values[broker] {
                case .success(let number)?: cells.append(format(number, row.decimals))
                case .failure?: cells.append("failed")
                case nil: cells.append("—")
                }
            }
            for peer in peers {
                if case .success(let polder)? = row.values[.polder], case .success(let other)? = row.values[peer], other > 0 {
                    cells.append(String(format: "%.2f", polder / other))
                } else {
                    cells.append("—")
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
