/// Builds a metrics page in the Prometheus text exposition format (version 0.0.4).
struct PrometheusText {
    private(set) var text = ""

    /// A counter or gauge with no labels.
    mutating func metric(_ name: String, _ type: String, _ help: String, _ value: Double) {
        header(name, type, help)
        sample(name, [], value)
    }

    /// A counter or gauge with one sample per label set.
    mutating func metric(_ name: String, _ type: String, _ help: String, samples: [([(String, String)], Double)]) {
        header(name, type, help)
        for (labels, value) in samples { sample(name, labels, value) }
    }

    mutating func histogram(_ name: String, _ help: String, _ histogram: Histogram) {
        header(name, "histogram", help)
        var cumulative: UInt64 = 0
        for (index, bound) in histogram.bounds.enumerated() {
            cumulative += histogram.counts[index]
            sample(name + "_bucket", [("le", Self.number(bound))], Double(cumulative))
        }
        sample(name + "_bucket", [("le", "+Inf")], Double(histogram.count))
        sample(name + "_sum", [], histogram.sum)
        sample(name + "_count", [], Double(histogram.count))
    }

    private mutating func header(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    private mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.number(value) + "\n"
    }

    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    private static func escape(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
