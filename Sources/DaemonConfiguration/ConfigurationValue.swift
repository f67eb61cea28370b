/// One value as the operator wrote it: typed when it came from the TOML file, text when it came
/// from the command line (where everything is text).
public enum ConfigurationValue: Sendable, Equatable {
    case commandLine(String)
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    case strings([String])
    /// A TOML value of a type no setting takes, described with its article: "a date", "a table".
    case unsupported(String)

    /// What the operator wrote, for error messages.
    var shown: String {
        switch self {
        case .commandLine(let text), .string(let text): "\"\(text)\""
        case .integer(let value): String(value)
        case .float(let value): String(value)
        case .boolean(let value): String(value)
        case .strings(let values): "[" + values.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        case .unsupported(let type): type
        }
    }

    func integer(in range: ClosedRange<Int>) throws(SettingProblem) -> Int {
        let value: Int
        switch self {
        case .integer(let number): value = number
        case .commandLine(let text):
            guard let number = Int(text.filter { $0 != "_" }) else { throw SettingProblem("expected a whole number, got \(shown)") }
            value = number
        default: throw SettingProblem("expected a whole number, got \(shown)")
        }
        guard range.contains(value) else { throw SettingProblem("\(value) is out of range: \(Self.describe(range))") }
        return value
    }

    func seconds(atLeast minimum: Double, orZero: Bool = false) throws(SettingProblem) -> Double {
        let value: Double
        switch self {
        case .integer(let number): value = Double(number)
        case .float(let number): value = number
        case .commandLine(let text):
            guard let number = Double(text), number.isFinite else { throw SettingProblem("expected a number of seconds, got \(shown)") }
            value = number
        default: throw SettingProblem("expected a number of seconds, got \(shown)")
        }
        guard value >= minimum || (orZero && value == 0), value.isFinite, value <= 10 * 365 * 86_400 else {
            throw SettingProblem("\(value) is out of range: at least \(minimum) seconds\(orZero ? " (or 0 for never)" : "")")
        }
        return value
    }

    func text() throws(SettingProblem) -> String {
        switch self {
        case .commandLine(let text), .string(let text): return text
        default: throw SettingProblem("expected a string, got \(shown)")
        }
    }

    /// `HOST:PORT`; the empty string gives nil when `optional`.
    func address(optional: Bool) throws(SettingProblem) -> String? {
        let text = try text()
        if text.isEmpty && optional { return nil }
        try Self.checkAddress(text)
        return text
    }

    /// A list of `HOST:PORT`: a TOML array, or comma-separated text.
    func addresses() throws(SettingProblem) -> [String] {
        let items: [String]
        switch self {
        case .strings(let values): items = values
        case .commandLine(let text), .string(let text): items = text.split(separator: ",").map { String($0) }
        default: throw SettingProblem("expected a list of \"HOST:PORT\" strings, got \(shown)")
        }
        let addresses = items.map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty }
        for address in addresses { try Self.checkAddress(address) }
        return addresses
    }

    private static func checkAddress(_ text: String) throws(SettingProblem) {
        guard let colon = text.lastIndex(of: ":"), text.startIndex != colon,
              UInt16(text[text.index(after: colon)...]) != nil else {
            throw SettingProblem("\"\(text)\" is not HOST:PORT (an IPv6 host goes in brackets: [::1]:7400)")
        }
        guard text.utf8.count <= 255 else { throw SettingProblem("\"\(text)\" is longer than 255 bytes") }
    }

    private static func describe(_ range: ClosedRange<Int>) -> String {
        range.upperBound == Int.max ? "at least \(range.lowerBound)" : "from \(range.lowerBound) to \(range.upperBound)"
    }
}

/// Why one value was refused; the caller adds where and which key.
public struct SettingProblem: Error, Sendable {
    public let message: String
    init(_ message: String) { self.message = message }
}
