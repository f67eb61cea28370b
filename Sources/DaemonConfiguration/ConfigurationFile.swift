import Platform
import TOMLKit

/// Reads polderd's TOML configuration file (TOML 1.0, parsed by toml++ through TOMLKit) into
/// settings and values; every key must be a known setting, in its section.
enum ConfigurationFile {
    /// The values of known keys, and a problem for each unknown one.
    typealias Contents = (entries: [(setting: Setting, value: ConfigurationValue)], problems: [ConfigurationError.Problem])

    static func read(_ path: String) throws(ConfigurationError) -> Contents {
        let text: String
        do { text = try FileSystem.readText(path) } catch {
            throw ConfigurationError(place: path, key: nil, "cannot read the configuration file: \(error)")
        }
        return try parse(text, place: path)
    }

    /// Parses TOML `text`; `place` names it in errors. Text that is not TOML throws.
    static func parse(_ text: String, place: String) throws(ConfigurationError) -> Contents {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(place: "\(place):\(error.source.begin.line):\(error.source.begin.column)", key: nil,
                                     "not valid TOML: \(error.description)")
        } catch {
            throw ConfigurationError(place: place, key: nil, "not valid TOML: \(error)")
        }
        var entries: [(setting: Setting, value: ConfigurationValue)] = []
        var problems: [ConfigurationError.Problem] = []
        func take(_ key: String, _ value: TOMLValueConvertible) {
            guard let setting = Setting.withKey(key) else {
                let hint = suggestion(for: key).map { "; did you mean '\($0)'?" } ?? ""
                problems.append(.init(place: place, key: key, message: "unknown key\(hint)"))
                return
            }
            entries.append((setting, convert(value)))
        }
        for key in table.keys.sorted() {
            guard let value = table[key] else { continue }
            if value.type == .table, let section = value.table {
                guard Setting.all.contains(where: { $0.key.hasPrefix(key + ".") }) else {
                    problems.append(.init(place: place, key: "[\(key)]", message: "unknown section"))
                    continue
                }
                for inner in section.keys.sorted() {
                    if let innerValue = section[inner] { take("\(key).\(inner)", innerValue) }
                }
            } else {
                take(key, value)
            }
        }
        return (entries, problems)
    }

    private static func convert(_ value: TOMLValueConvertible) -> ConfigurationValue {
        switch value.type {
        case .string: return value.string.map { .string($0) } ?? .unsupported("a string")
        case .int: return value.int.map { .integer($0) } ?? .unsupported("an integer")
        case .double: return value.double.map { .float($0) } ?? .unsupported("a float")
        case .bool: return value.bool.map { .boolean($0) } ?? .unsupported("a boolean")
        case .array:
            guard let array = value.array else { return .unsupported("an array") }
            var strings: [String] = []
            for element in array {
                guard element.type == .string, let string = element.string else { return .unsupported("an array of non-strings") }
                strings.append(string)
            }
            return .strings(strings)
        case .table: return .unsupported("a table")
        default: return .unsupported("a \(value.type.description)")
        }
    }

    /// The known key closest to a misspelt one, if one is close.
    static func suggestion(for key: String) -> String? {
        let best = Setting.all.map { ($0.key, distance(key, $0.key)) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= max(2, key.count / 4) else { return nil }
        return best.0
    }

    private static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let substitution = previous + (a[i - 1] == b[j - 1] ? 0 : 1)
                previous = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, substitution)
            }
        }
        return row[b.count]
    }
}
