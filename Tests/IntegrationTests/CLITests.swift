import Foundation
import Testing

/// The real `polderd` driven by the real `polder` binary.
@Suite(.serialized, .timeLimit(.minutes(2))) struct CLITests {
    @Test func twoIdentitiesExchangeEncryptedMessages() async throws {
        let broker = try await Polderd()
        let alice = try await User(), bob = try await User()
        let create = try await polder(["topic", "create", "chat", "--reader", bob.id], home: alice.home, broker: broker)
        #expect(create.process.terminationStatus == 0, "\(create.stderr)")
        let topic = try #require(create.stdoutLines.first)

        let subscriber = try polderInBackground(["sub", topic, "--count", "3", "--timeout", "20"], home: bob.home, broker: broker)
        try await subscriber.waitForStderr("subscribed to")
        let one = try await polder(["pub", topic, "hello bob"], home: alice.home, broker: broker)
        #expect(one.process.terminationStatus == 0, "\(one.stderr)")
        let lines = try await polder(["pub", topic, "--stdin"], home: alice.home, broker: broker, stdin: "second\nthird\n")
        #expect(lines.process.terminationStatus == 0, "\(lines.stderr)")
        // One acknowledgement line per event: "<sequence> <event ID>", sequences continuing.
        #expect(one.stdoutLines.count == 1 && one.stdoutLines[0].hasPrefix("1 "))
        #expect(lines.stdoutLines.map { $0.split(separator: " ")[0] } == ["2", "3"])

        #expect(try await subscriber.wait() == 0, "\(subscriber.stderr)")
        #expect(subscriber.stdoutLines == ["hello bob", "second", "third"])
        // The broker keeps only ciphertext: no plaintext in its data directory or log.
        #expect(!broker.child.stderr.contains("hello bob"))
        #expect(try await broker.stop() == 0)
    }

    @Test func everyFailureIsOneClearLine() async throws {
        let broker = try await Polderd()
        let alice = try await User(), bob = try await User(), mallory = try await User()
        let topic = try #require(try await polder(["topic", "create", "news", "--reader", bob.id], home: alice.home, broker: broker).stdoutLines.first)

        func expectFailure(_ arguments: [String], as user: User, brokerAddress: Polderd? = nil, mentioning text: String) async throws {
            let run = try await polder(arguments, home: user.home, broker: brokerAddress ?? broker)
            #expect(run.process.terminationStatus != 0, "\(arguments) should fail")
            let errorLines = run.stderr.split(separator: "\n")
            #expect(errorLines.count == 1, "\(arguments): \(run.stderr)")
            #expect(run.stderr.contains(text), "\(arguments): \(run.stderr)")
            #expect(run.stdout.isEmpty)
        }

        // Not allowed to publish: Bob reads but may not publish.
        try await expectFailure(["pub", topic, "hi"], as: bob, mentioning: "not allowed to publish")
        // Not a reader: Mallory can neither subscribe nor decrypt.
        try await expectFailure(["sub", topic, "--timeout", "2"], as: mallory, mentioning: "not a reader")
        // Unknown topic.
        let stranger = try await User()
        try await expectFailure(["sub", stranger.id, "--timeout", "2"], as: bob, mentioning: "no topic")
        // Malformed ID.
        try await expectFailure(["pub", String(topic.dropLast()) + (topic.last == "a" ? "b" : "a"), "x"], as: alice, mentioning: "malformed ID")
        try await expectFailure(["topic", "create", "x", "--reader", "nonsense"], as: alice, mentioning: "malformed ID")
        // Broker unreachable: stop it first.
        #expect(try await broker.stop() == 0)
        try await expectFailure(["pub", topic, "hi"], as: alice, brokerAddress: broker, mentioning: "cannot reach the broker")
    }

    @Test func subscribeTimesOutWithAClearStatus() async throws {
        let broker = try await Polderd()
        let alice = try await User()
        let topic = try #require(try await polder(["topic", "create", "quiet"], home: alice.home, broker: broker).stdoutLines.first)
        let run = try await polder(["sub", topic, "--count", "1", "--timeout", "0.5"], home: alice.home, broker: broker)
        #expect(run.process.terminationStatus != 0)
        #expect(run.stderr.contains("timed out"))
        let open = try await polder(["sub", topic, "--timeout", "0.3"], home: alice.home, broker: broker)
        #expect(open.process.terminationStatus == 0, "no --count: the timeout is a normal end")
        _ = try await broker.stop()
    }

    @Test func identityCommands() async throws {
        let home = temporaryDirectory()
        let created = try await polder(["identity", "new", "--out", home.appendingPathComponent("x").path], home: home, broker: nil)
        let id = try #require(created.stdoutLines.first)
        #expect(id.count == 56)
        let shown = try await polder(["identity", "show", home.appendingPathComponent("x").path], home: home, broker: nil)
        #expect(shown.stdoutLines == [id])
        let again = try await polder(["identity", "new", "--out", home.appendingPathComponent("x").path], home: home, broker: nil)
        #expect(again.process.terminationStatus != 0 && again.stderr.contains("already exists"))
        let attributes = try FileManager.default.attributesOfItem(atPath: home.appendingPathComponent("x").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func daemonRunsWithDefaultsAndKeepsItsIdentity() async throws {
        let directory = temporaryDirectory()
        // No options at all: 127.0.0.1:7400 and ./polder-data. Skip if something else holds the port.
        let first = try ChildProcess("polderd", [], in: directory)
        defer { first.kill() }
        do { try await first.waitForStderr("listening on 127.0.0.1:7400", seconds: 10) } catch {
            if first.stderr.contains("Address already in use") { return }
            throw error
        }
        let identityFile = directory.appendingPathComponent("polder-data/identity")
        let identity = try String(contentsOf: identityFile, encoding: .utf8)
        first.signal(SIGINT)
        #expect(try await first.wait(seconds: 10) == 0)
        let second = try ChildProcess("polderd", [], in: directory)
        try await second.waitForStderr("listening on", seconds: 10)
        #expect(try String(contentsOf: identityFile, encoding: .utf8) == identity)
        second.signal(SIGTERM)
        #expect(try await second.wait(seconds: 10) == 0)
    }

    @Test func daemonHelpDocumentsEveryOption() async throws {
        let help = try ChildProcess("polderd", ["--help"], in: temporaryDirectory())
        #expect(try await help.wait() == 0)
        for option in ["--listen", "--data-dir", "--verifier-threads", "--output-limit", "--max-connections", "--handshake-timeout", "--log-level"] {
            #expect(help.stdout.contains(option), "\(option) missing from --help")
        }
        let bad = try ChildProcess("polderd", ["--listen", "256.1.1.1:1", "--data-dir", temporaryDirectory().path], in: temporaryDirectory())
        #expect(try await bad.wait() != 0)
        #expect(bad.stderr.contains("cannot listen"))
    }
}
