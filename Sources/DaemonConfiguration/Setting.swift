import Broker
import Logging

/// One thing an operator can set, in the configuration file as `key` and on the command line as
/// `--flag`: one list for both, so that they cannot drift apart.
public struct Setting {
    /// When a changed value takes effect.
    public enum Applies: Sendable {
        /// On SIGHUP (connection limits apply to connections accepted after it).
        case atReload
        /// Only when polderd restarts.
        case atRestart
    }

    /// The key in the configuration file, `section.name` or `name`.
    public let key: String
    /// The command-line option, without the dashes.
    public let flag: String
    public let valueName: String
    public let help: String
    public let applies: Applies
    let assign: (inout DaemonSettings, ConfigurationValue) throws(SettingProblem) -> Void
    /// The value as TOML text, to compare and to show.
    let current: (DaemonSettings) -> String

    /// The value in `settings`, as it would be written in the configuration file.
    public func value(in settings: DaemonSettings) -> String { current(settings) }

    static func integer<Value: FixedWidthInteger>(_ key: String, flag: String, _ path: WritableKeyPath<DaemonSettings, Value>,
                                                  range: ClosedRange<Int>, _ applies: Applies, _ help: String,
                                                  valueName: String = "N") -> Setting {
        Setting(key: key, flag: flag, valueName: valueName, help: help, applies: applies,
                assign: { (settings: inout DaemonSettings, value: ConfigurationValue) throws(SettingProblem) in
                    settings[keyPath: path] = Value(try value.integer(in: range))
                },
                current: { String($0[keyPath: path]) })
    }

    static func seconds(_ key: String, flag: String, _ path: WritableKeyPath<DaemonSettings, Double>, atLeast minimum: Double,
                        orZero: Bool = false, _ applies: Applies, _ help: String) -> Setting {
        Setting(key: key, flag: flag, valueName: "SECONDS", help: help, applies: applies,
                assign: { (settings: inout DaemonSettings, value: ConfigurationValue) throws(SettingProblem) in
                    settings[keyPath: path] = try value.seconds(atLeast: minimum, orZero: orZero)
                },
                current: { String($0[keyPath: path]) })
    }

    static func address(_ key: String, flag: String, _ path: WritableKeyPath<DaemonSettings, String>, _ applies: Applies,
                        _ help: String) -> Setting {
        Setting(key: key, flag: flag, valueName: "HOST:PORT", help: help, applies: applies,
                assign: { (settings: inout DaemonSettings, value: ConfigurationValue) throws(SettingProblem) in
                    settings[keyPath: path] = try value.address(optional: false)!
                },
                current: { quoted($0[keyPath: path]) })
    }

    /// An address that may be left out; `""` turns it off.
    static func optionalAddress(_ key: String, flag: String, _ path: WritableKeyPath<DaemonSettings, String?>, _ applies: Applies,
                                _ help: String) -> Setting {
        Setting(key: key, flag: flag, valueName: "HOST:PORT", help: help, applies: applies,
                assign: { (settings: inout DaemonSettings, value: ConfigurationValue) throws(SettingProblem) in
                    settings[keyPath: path] = try value.address(optional: true)
                },
                current: { quoted($0[keyPath: path] ?? "") })
    }

    static func addresses(_ key: String, flag: String, _ path: WritableKeyPath<DaemonSettings, [String]>, _ applies: Applies,
                          _ help: String) -> Setting {
        Setting(key: key, flag: flag, valueName: "HOST:PORT[,...]", help: help, applies: applies,
                assign: { (settings: inout DaemonSettings, value: ConfigurationValue) throws(SettingProblem) in
                    settings[keyPath: path] = try value.addresses()
                },
                current: { "[" + $0[keyPath: path].map(quoted).joined(separator: ", ") + "]" })
    }

    static func text(_ key: String, flag: String, _ path: WritableKeyPath<DaemonSettings, String>, valueName: String,
                     _ applies: Applies, _ help: String) -> Setting {
        Setting(key: key, flag: flag, valueName: valueName, help: help, applies: applies,
                assign: { (settings: inout DaemonSettings, value: ConfigurationValue) throws(SettingProblem) in
                    let text = try value.text()
                    guard !text.isEmpty else { throw SettingProblem("may not be empty") }
                    settings[keyPath: path] = text
                },
                current: { quoted($0[keyPath: path]) })
    }

    static func logLevel(_ key: String, flag: String, _ applies: Applies, _ help: String) -> Setting {
        Setting(key: key, flag: flag, valueName: "LEVEL", help: help, applies: applies,
                assign: { (settings: inout DaemonSettings, value: ConfigurationValue) throws(SettingProblem) in
                    let text = try value.text()
                    guard let level = Logger.Level(rawValue: text) else {
                        throw SettingProblem("unknown log level \(value.shown); use trace, debug, info, notice, warning, error or critical")
                    }
                    settings.logLevel = level
                },
                current: { quoted($0.logLevel.rawValue) })
    }

    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\""
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
