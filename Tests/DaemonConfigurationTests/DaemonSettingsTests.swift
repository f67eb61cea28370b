import Broker
import Testing
@testable import DaemonConfiguration

@Suite struct DaemonSettingsTests {
    private func parse(_ toml: String, commandLine: [String] = []) throws -> DaemonSettings {
        var settings = DaemonSettings()
        let contents = try ConfigurationFile.parse(toml, place: "test.toml")
        if !contents.problems.isEmpty { throw ConfigurationError(contents.problems) }
        for entry in contents.entries { try entry.setting.assign(&settings, entry.value) }
        for entry in try CommandLineSettings.parse(commandLine) { try entry.setting.assign(&settings, entry.value) }
        return settings
    }

    /// The whole pipeline, with the file written to disk.
    private func resolve(_ toml: String, commandLine: [String] = []) throws(ConfigurationError) -> DaemonSettings {
        let path = "/tmp/polder-config-\(UInt64.random(in: 0...UInt64.max)).toml"
        FileSystemForTests.write(toml, to: path)
        defer { FileSystemForTests.remove(path) }
        return try DaemonSettings.resolve(file: path, commandLine: commandLine)
    }

    @Test func aGoodFileSetsEverySectionItNames() throws {
        let settings = try resolve("""
            # comments are fine
            listen = "0.0.0.0:7411"
            data-dir = "/var/lib/polder"
            log-level = "debug"

            [limits]
            max-connections = 500
            idle-timeout = 90.5
            max-message-rate = 0

            [retention]
            events = 1_000

            [peers]
            listen = "0.0.0.0:7401"
            bootstrap = ["10.0.0.1:7401", "[fd00::2]:7401"]

            [http]
            listen = "127.0.0.1:9464"
            """)
        #expect(settings.broker.listen == "0.0.0.0:7411")
        #expect(settings.broker.dataDirectory == "/var/lib/polder")
        #expect(settings.logLevel == .debug)
        #expect(settings.broker.maximumConnections == 500)
        #expect(settings.broker.idleTimeout == 90.5)
        #expect(settings.broker.maximumMessageRate == 0)
        #expect(settings.broker.retention.maximumEvents == 1_000)
        #expect(settings.broker.retention.maximumBytes == BrokerConfiguration().retention.maximumBytes)
        #expect(settings.broker.peerListen == "0.0.0.0:7401")
        #expect(settings.broker.bootstrap == ["10.0.0.1:7401", "[fd00::2]:7401"])
        #expect(settings.broker.httpListen == "127.0.0.1:9464")
    }

    @Test func theCommandLineOverridesTheFile() throws {
        let settings = try resolve("listen = \"0.0.0.0:1\"\n[limits]\nmax-connections = 5\n",
                                   commandLine: ["--listen", "127.0.0.1:2", "--max-connections=7", "--bootstrap", "a:1, b:2"])
        #expect(settings.broker.listen == "127.0.0.1:2")
        #expect(settings.broker.maximumConnections == 7)
        #expect(settings.broker.bootstrap == ["a:1", "b:2"])
    }

    @Test func anUnknownKeyIsNamedWithTheNearestKnownOne() {
        #expect(throws: ConfigurationError([.init(place: "test.toml", key: "limits.max-conections",
                                                   message: "unknown key; did you mean 'limits.max-connections'?")])) {
            try parse("[limits]\nmax-conections = 5\n")
        }
        #expect(throws: ConfigurationError([.init(place: "test.toml", key: "[limit]", message: "unknown section")])) {
            try parse("[limit]\nmax-connections = 5\n")
        }
        // A key in the wrong section is unknown there.
        #expect(throws: ConfigurationError.self) { try parse("max-connections = 5\n") }
    }

    @Test func badValuesNameTheirKeyAndSayWhatIsExpected() {
        do {
            _ = try resolve("""
                log-level = "loud"
                [limits]
                max-connections = "many"
                max-clients = 3
                max-frame-size = 100
                idle-timeout = -1
                [peers]
                bootstrap = ["nohost"]
                """)
            Issue.record("a bad configuration was accepted")
        } catch {
            let byKey = Dictionary(uniqueKeysWithValues: error.problems.map { ($0.key ?? "", $0.message) })
            #expect(byKey["log-level"]?.contains("unknown log level \"loud\"") == true)
            #expect(byKey["limits.max-connections"] == "expected a whole number, got \"many\"")
            #expect(byKey["limits.max-frame-size"] == "100 is out of range: from 4096 to 65535")
            #expect(byKey["limits.idle-timeout"]?.contains("out of range") == true)
            #expect(byKey["peers.bootstrap"]?.contains("is not HOST:PORT") == true)
            #expect(byKey["limits.max-clients"] == "unknown key")
            #expect(error.problems.count == 6)
            #expect(error.description.contains("test.toml") == false)  // resolve names the real path
        }
    }

    @Test func invalidTOMLGivesTheLineAndColumn() {
        do {
            _ = try ConfigurationFile.parse("listen = \"127.0.0.1:7400\"\n[limits\nmax-connections = 5\n", place: "test.toml")
            Issue.record("invalid TOML was accepted")
        } catch {
            #expect(error.problems.count == 1)
            #expect(error.problems[0].place.hasPrefix("test.toml:2:"))
            #expect(error.problems[0].message.hasPrefix("not valid TOML"))
        }
    }

    @Test func aTypeNoSettingTakesIsRefused() {
        for (toml, message) in [("[limits]\nmax-connections = 1979-05-27\n", "expected a whole number, got a date"),
                                ("[peers]\nbootstrap = [1, 2]\n", "expected a list of \"HOST:PORT\" strings, got an array of non-strings"),
                                ("[limits]\nmax-connections = true\n", "expected a whole number, got true")] {
            do {
                _ = try resolve(toml)
                Issue.record("accepted \(toml)")
            } catch {
                #expect(error.problems.map(\.message) == [message])
            }
        }
    }

    @Test func commandLineMistakesAreNamed() {
        #expect(throws: ConfigurationError([.init(place: "command line", key: "--max-conections", message: "unknown option; see polderd --help")])) {
            try CommandLineSettings.parse(["--max-conections", "5"])
        }
        #expect(throws: ConfigurationError([.init(place: "command line", key: "--listen", message: "needs a value (HOST:PORT)")])) {
            try CommandLineSettings.parse(["--listen"])
        }
        #expect(throws: ConfigurationError.self) { try DaemonSettings.resolve(file: nil, commandLine: ["--max-connections", "0"]) }
        #expect(throws: ConfigurationError.self) { try DaemonSettings.resolve(file: nil, commandLine: ["--verifier-threads", "-1"]) }
        // No verifier threads: every signature is checked on the event loop.
        #expect((try? DaemonSettings.resolve(file: nil, commandLine: ["--verifier-threads", "0"]))?.broker.verifierThreads == 0)
        #expect(throws: ConfigurationError.self) { try DaemonSettings.resolve(file: "/nonexistent/polderd.toml", commandLine: []) }
    }

    @Test func settingsThatDependOnEachOtherAreChecked() {
        #expect(throws: ConfigurationError.self) {
            try DaemonSettings.resolve(file: nil, commandLine: ["--delivery-buffer", "9000000", "--output-limit", "8000000"])
        }
        #expect(throws: ConfigurationError.self) { try DaemonSettings.resolve(file: nil, commandLine: ["--peer-advertise", "x:1"]) }
    }

    /// Every setting can be written in the file and on the command line, and what `--check-config`
    /// prints is itself a valid configuration that gives the same settings.
    @Test func everySettingRoundTripsThroughFileAndCommandLine() throws {
        var changed = DaemonSettings()
        changed.broker.peerListen = "127.0.0.1:7401"
        changed.broker.httpListen = "127.0.0.1:9464"
        changed.broker.bootstrap = ["127.0.0.1:7402"]
        let rendered = changed.rendered
        let fromFile = try parse(rendered)
        #expect(fromFile.differences(from: changed).map(\.key) == [])
        var arguments: [String] = []
        for setting in Setting.all {
            var value = setting.value(in: changed)
            if value.hasPrefix("[") { value = String(value.dropFirst().dropLast().filter { $0 != "\"" }) }
            else if value.hasPrefix("\"") { value = String(value.dropFirst().dropLast()) }
            arguments += ["--\(setting.flag)", value]
        }
        let fromCommandLine = try parse("", commandLine: arguments)
        #expect(fromCommandLine.differences(from: changed).map(\.key) == [])
        #expect(Set(Setting.all.map(\.flag)).count == Setting.all.count)
        #expect(Set(Setting.all.map(\.key)).count == Setting.all.count)
    }

    @Test func aReloadTakesOnlyWhatMayChangeAtRunTime() throws {
        let running = try parse("listen = \"127.0.0.1:1\"\nlog-level = \"info\"\n[limits]\nmax-connections = 10\n")
        let edited = try parse("listen = \"127.0.0.1:2\"\nlog-level = \"debug\"\n[limits]\nmax-connections = 20\n[peers]\nbootstrap = [\"h:1\"]\n")
        let changed = edited.differences(from: running)
        #expect(Set(changed.map(\.key)) == ["listen", "log-level", "limits.max-connections", "peers.bootstrap"])
        #expect(changed.filter { $0.applies == .atRestart }.map(\.key) == ["listen"])
        var applied = running
        applied.takeReloadable(from: edited)
        #expect(applied.broker.listen == "127.0.0.1:1")
        #expect(applied.logLevel == .debug)
        #expect(applied.broker.maximumConnections == 20)
        #expect(applied.broker.bootstrap == ["h:1"])
        #expect(applied.differences(from: edited).map(\.key) == ["listen"])
    }
}
