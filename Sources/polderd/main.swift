import ArgumentParser
import Broker
import DaemonConfiguration
import Platform

/// `polderd`: the Polder broker daemon.
struct Polderd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polderd",
        abstract: "The Polder broker: stores and forwards end-to-end encrypted events for edge clients.",
        usage: "polderd [--config FILE] [--check-config] [--SETTING VALUE ...]",
        discussion: """
            With no options it listens on 127.0.0.1:7400, keeps its data in ./polder-data and creates its \
            identity there on first start. Settings come from the defaults, then the TOML file given with \
            --config, then the command line. SIGHUP reloads the file (limits, log level, bootstrap list); \
            SIGTERM or SIGINT shut down cleanly.

            SETTINGS:
            \(Setting.helpText)
            """,
        version: Broker.version)

    @Option(name: .long, help: ArgumentHelp("TOML configuration file; every setting below may be set there.", valueName: "FILE"))
    var config: String?

    @Flag(name: .long, help: "Check the configuration, print the settings it gives, and exit (0 if it is valid).")
    var checkConfig = false

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var settings: [String] = []

    func run() throws {
        let resolved: DaemonSettings
        do {
            resolved = try DaemonSettings.resolve(file: config, commandLine: settings)
        } catch {
            Console.standardError("polderd: invalid configuration:\n\(error)")
            throw ExitCode(78)  // EX_CONFIG: systemd's RestartPreventExitStatus keeps it from looping
        }
        if checkConfig {
            Console.standardOutput("# polderd \(Broker.version): the configuration\(config.map { " in \($0)" } ?? "") is valid; in effect:")
            Console.standardOutput(resolved.rendered)
            return
        }
        do {
            try Daemon(settings: resolved, file: config, commandLine: settings).run()
        } catch {
            Console.standardError("polderd: \(error)")
            throw ExitCode(1)
        }
    }
}

Polderd.main()
