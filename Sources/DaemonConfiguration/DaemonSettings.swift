import Broker
import Logging

/// Everything `polderd` runs with: the broker's configuration and the process's own settings.
/// Built from the defaults, then the configuration file, then the command line, in that order.
public struct DaemonSettings: Sendable {
    public var broker = BrokerConfiguration()
    public var logLevel: Logger.Level = .info

    public init() {}

    /// Reads `file` (if any) and then `commandLine` over the defaults, and checks the result.
    /// - Parameter commandLine: the setting options, e.g. `["--listen", "0.0.0.0:7400", "--max-connections=500"]`.
    public static func resolve(file: String?, commandLine: [String]) throws(ConfigurationError) -> DaemonSettings {
        var settings = DaemonSettings()
        var problems: [ConfigurationError.Problem] = []
        if let file {
            do {
                let contents = try ConfigurationFile.read(file)
                problems += contents.problems
                for entry in contents.entries {
                    settings.assign(entry.value, to: entry.setting, place: file, problems: &problems)
                }
            } catch {
                problems += error.problems
            }
        }
        do {
            for entry in try CommandLineSettings.parse(commandLine) {
                settings.assign(entry.value, to: entry.setting, place: "command line", problems: &problems)
            }
        } catch {
            problems += error.problems
        }
        if problems.isEmpty { problems = settings.inconsistencies }
        guard problems.isEmpty else { throw ConfigurationError(problems) }
        return settings
    }

    private mutating func assign(_ value: ConfigurationValue, to setting: Setting, place: String,
                                 problems: inout [ConfigurationError.Problem]) {
        do {
            try setting.assign(&self, value)
        } catch {
            let name = place == "command line" ? "--\(setting.flag)" : setting.key
            problems.append(.init(place: place, key: name, message: error.message))
        }
    }

    /// Rules that involve more than one setting.
    private var inconsistencies: [ConfigurationError.Problem] {
        var problems: [ConfigurationError.Problem] = []
        if broker.deliveryBuffer >= broker.outputLimit {
            problems.append(.init(place: "settings", key: "limits.delivery-buffer",
                                  message: "\(broker.deliveryBuffer) must be below limits.output-limit (\(broker.outputLimit))"))
        }
        if broker.peerAdvertise != nil && broker.peerListen == nil {
            problems.append(.init(place: "settings", key: "peers.advertise",
                                  message: "is set but peers.listen is not: there is no peer listener to advertise"))
        }
        return problems
    }

    /// The settings whose values differ between `self` and `other`.
    public func differences(from other: DaemonSettings) -> [Setting] {
        Setting.all.filter { $0.current(self) != $0.current(other) }
    }

    /// Takes from `new` what may change while the daemon runs; the rest stays.
    public mutating func takeReloadable(from new: DaemonSettings) {
        broker.takeReloadable(from: new.broker)
        logLevel = new.logLevel
    }

    /// Every setting as `key = value` lines in TOML, for `--check-config`.
    public var rendered: String {
        var lines: [String] = []
        var section = ""
        for setting in Setting.all {
            let parts = setting.key.split(separator: ".")
            let setSection = parts.count == 2 ? String(parts[0]) : ""
            if setSection != section {
                section = setSection
                lines.append("\n[\(section)]")
            }
            lines.append("\(parts.last!) = \(setting.current(self))")
        }
        return lines.joined(separator: "\n")
    }
}
