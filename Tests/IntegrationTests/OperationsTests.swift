import Foundation
import Platform
import Sodium
import TestSupport
import Testing
import Wire

/// `polderd` as an operator runs it: configuration file and reload, the systemd notify protocol,
/// graceful shutdown, the HTTP endpoints after real traffic, and the shipped units and example.
@Suite(.serialized, .timeLimit(.minutes(3))) struct OperationsTests {
    @Test func notifiesReadyReloadingAndStoppingAndPingsTheWatchdog() async throws {
        let directory = temporaryDirectory()
        let notify = try NotifySocket(in: directory)
        let broker = try await Polderd(directory: directory, environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"])
        let ready = try notify.waitFor("READY=1")
        #expect(ready.contains("STATUS=serving clients on 127.0.0.1:"))
        _ = try notify.waitFor("WATCHDOG=1")

        broker.child.signal(SIGHUP)
        let reloading = try notify.waitFor("RELOADING=1")
        #expect(reloading.contains("MONOTONIC_USEC="))
        _ = try notify.waitFor("READY=1")

        // A connected client is told about the shutdown before the connection closes.
        let client = try RawConnection(address: broker.address)
        try client.handshake(as: SigningKeyPair())
        try client.send(EdgeMessage.ping(nonce: 1))
        #expect(try client.receive() == .pong(nonce: 1))
        broker.child.signal(SIGTERM)
        _ = try notify.waitFor("STOPPING=1")
        guard case let .error(_, code, _) = try client.receive() else {
            Issue.record("the client was not told")
            return
        }
        #expect(code == .shuttingDown)
        #expect(client.isClosedByPeer())
        #expect(try await broker.child.wait(seconds: 10) == 0)
        #expect(broker.child.stderr.contains("received SIGTERM: shutting down"))
        #expect(broker.child.stderr.contains("stopped: "))
        // The store was flushed and closed cleanly: a restart opens it.
        let again = try await broker.restarted()
        #expect(try await again.stop() == 0)
    }

    /// Pinned to one CPU, the broker starts no verifier threads (they would share the loop's CPU)
    /// and checks every signature on its loop: publishes still go through, in order.
    @Test func aBrokerPinnedToOneCPUVerifiesOnItsLoop() async throws {
        // The first CPU this test may use itself (a cpuset need not hold CPU 0).
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let list = try #require(status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") })
        let cpu = String(list.dropFirst("Cpus_allowed_list:".count).drop { $0 == "\t" || $0 == " " }.prefix { $0.isNumber })
        let broker = try await Polderd(extraArguments: ["--verifier-threads", "2", "--log-level", "info"], cpus: cpu)
        #expect(broker.child.stderr.contains("may use one CPU only: it verifies every signature on its event loop"))
        func threadCount(_ broker: Polderd) throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/\(broker.child.process.processIdentifier)/task").count
        }
        let threads = try threadCount(broker)
        let alice = try await User(), bob = try await User()
        let create = try await polder(["topic", "create", "pinned", "--reader", bob.id], home: alice.home, broker: broker)
        let topic = try #require(create.stdoutLines.first, "\(create.stderr)")
        let lines = (1...200).map { "event \($0)" }
        let published = try await polder(["pub", topic, "--stdin"], home: alice.home, broker: broker, stdin: lines.joined(separator: "\n") + "\n", seconds: 60)
        #expect(published.process.terminationStatus == 0, "\(published.stderr)")
        let read = try await polder(["sub", topic, "--since", "beginning", "--count", "200", "--timeout", "30"], home: bob.home, broker: broker, seconds: 60)
        #expect(read.stdoutLines == lines)
        let unpinned = try await Polderd(extraArguments: ["--verifier-threads", "2"])
        let unpinnedThreads = try threadCount(unpinned)
        #expect(unpinnedThreads >= threads + 2 || Environment.usableCPUs == 1, "\(threads) threads pinned, \(unpinnedThreads) not")
        #expect(!unpinned.child.stderr.contains("may use one CPU only"))
        #expect(try await unpinned.stop() == 0)
        #expect(try await broker.stop() == 0)
    }

    @Test func sighupAppliesLimitsAndLogLevelAndNamesWhatNeedsARestart() async throws {
        let directory = temporaryDirectory()
        let config = directory.appendingPathComponent("polderd.toml")
        try "log-level = \"info\"\n[limits]\nmax-connections = 100\n".write(to: config, atomically: true, encoding: .utf8)
        let broker = try await Polderd(extraArguments: ["--config", config.path], directory: directory)

        try """
            log-level = "debug"
            verifier-threads = 1
            [limits]
            max-connections = 1
            [peers]
            bootstrap = ["127.0.0.1:9"]
            """.write(to: config, atomically: true, encoding: .utf8)
        broker.child.signal(SIGHUP)
        try await broker.child.waitForStderr("configuration reloaded: changed")
        let log = broker.child.stderr
        #expect(log.contains("verifier-threads from 2 to 1 needs a restart of polderd"))
        #expect(log.contains("limits.max-connections from 100 to 1"))
        #expect(log.contains("log-level from \"info\" to \"debug\""))
        #expect(log.contains("peers.bootstrap from [] to [\"127.0.0.1:9\"]"))

        // One client at a time now; the second is closed at accept.
        let first = try RawConnection(address: broker.address)
        try first.handshake(as: SigningKeyPair())
        let second = try RawConnection(address: broker.address)
        #expect(second.isClosedByPeer())
        try await broker.child.waitForStderr("connection limit of 1 reached")
        // Debug lines now appear (a connection's end is logged at debug level)…
        try first.send(EdgeMessage.ping(nonce: 2))
        #expect(try first.receive() == .pong(nonce: 2))
        _ = first  // keep it open until here

        // …and the new bootstrap list is tried.
        try await broker.child.waitForStderr("127.0.0.1:9")

        // A broken file changes nothing: the broker keeps serving on what it had.
        try "[limits\nmax-connections = 5\n".write(to: config, atomically: true, encoding: .utf8)
        broker.child.signal(SIGHUP)
        try await broker.child.waitForStderr("reload failed, the running configuration stays")
        #expect(broker.child.stderr.contains("polderd.toml:1:"))
        try first.send(EdgeMessage.ping(nonce: 3))
        #expect(try first.receive() == .pong(nonce: 3))
        #expect(try await broker.stop() == 0)
    }

    @Test func anInvalidConfigurationStopsStartupWithExitStatus78() async throws {
        let directory = temporaryDirectory()
        let config = directory.appendingPathComponent("bad.toml")
        try "listen = 7400\n[limits]\nmax-conections = 5\n".write(to: config, atomically: true, encoding: .utf8)
        let check = try ChildProcess("polderd", ["--config", config.path, "--check-config"], in: directory)
        #expect(try await check.wait() == 78)
        #expect(check.stderr.contains("bad.toml: listen: expected a string, got 7400"))
        #expect(check.stderr.contains("bad.toml: limits.max-conections: unknown key; did you mean 'limits.max-connections'?"))
        let run = try ChildProcess("polderd", ["--config", config.path], in: directory)
        #expect(try await run.wait() == 78)
    }

    @Test func metricsAndInfoDescribeRealTraffic() async throws {
        let broker = try await Polderd(extraArguments: ["--http-listen", "127.0.0.1:0"])
        let http = try #require(broker.httpAddress)
        #expect(try httpGet(http, "/healthz") == (200, "ok\n"))

        let alice = try await User(), bob = try await User()
        let create = try await polder(["topic", "create", "inbox", "--reader", bob.id], home: alice.home, broker: broker)
        let topic = try #require(create.stdoutLines.first, "\(create.stderr)")
        let opened = try await polder(["sub", topic, "--durable", "inbox", "--timeout", "0.5"], home: bob.home, broker: broker)
        #expect(opened.process.terminationStatus == 0, "\(opened.stderr)")
        let lines = (1...20).map { "event \($0)" }
        let published = try await polder(["pub", topic, "--stdin"], home: alice.home, broker: broker, stdin: lines.joined(separator: "\n") + "\n")
        #expect(published.process.terminationStatus == 0, "\(published.stderr)")

        let before = try httpGet(http, "/metrics")
        #expect(before.status == 200)
        let page = before.body
        #expect(metric(page, "polder_events_received_total{origin=\"client\"}") == 20)
        #expect(metric(page, "polder_events_received_total{origin=\"peer\"}") == 0)
        #expect(metric(page, "polder_events_queued_for_detached_sessions") == 20)
        #expect(try #require(metric(page, "polder_signature_verify_seconds_count")) >= 20)
        #expect(metric(page, "polder_signature_verify_seconds_bucket{le=\"+Inf\"}") == metric(page, "polder_signature_verify_seconds_count"))
        #expect(try #require(metric(page, "polder_store_commit_seconds_count")) >= 1)
        #expect(try #require(metric(page, "polder_store_commit_batch_size_sum")) >= 21)  // descriptor, session, 20 events
        #expect(try #require(metric(page, "polder_client_connections_accepted_total")) >= 3)
        #expect(try #require(metric(page, "polder_client_bytes_received_total")) > 20 * 100)
        #expect(try #require(metric(page, "polder_client_bytes_sent_total")) > 0)
        #expect(metric(page, "polder_events_dropped_total{reason=\"session_quota\"}") == 0)
        #expect(metric(page, "polder_peer_links") == 0)
        #expect(metric(page, "polder_topics") == 1)
        #expect(page.contains("# TYPE polder_store_commit_seconds histogram"))

        let read = try await polder(["sub", topic, "--durable", "inbox", "--count", "20", "--timeout", "20"], home: bob.home, broker: broker)
        #expect(read.stdoutLines == lines)
        // Acknowledgements reach the broker asynchronously; wait until the queue is empty.
        var after = ""
        for _ in 0..<100 {
            after = try httpGet(http, "/metrics").body
            if metric(after, "polder_events_queued_for_detached_sessions") == 0 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(metric(after, "polder_events_delivered_total") == 20)
        #expect(metric(after, "polder_events_queued_for_detached_sessions") == 0)

        let info = try httpGet(http, "/v1/info")
        #expect(info.status == 200)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(info.body.utf8)) as? [String: Any])
        #expect((json["broker"] as? String).map { broker.child.stderr.contains($0) } == true)
        #expect(json["version"] as? String == "0.5.0")
        #expect((json["listeners"] as? [String: String])?["clients"] == broker.address)
        #expect((json["listeners"] as? [String: String])?["http"] == http)
        let topics = try #require(json["topics"] as? [[String: Any]])
        #expect(topics.count == 1)
        #expect(topics.first?["topic"] as? String == topic)
        #expect(topics.first?["events"] as? Int == 20)

        // Bad requests get an error and the endpoints keep working.
        #expect(try httpGet(http, "/nowhere").status == 404)
        #expect(try httpRequest(http, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n").status >= 400)
        #expect(try httpRequest(http, "NONSENSE\r\n\r\n").status >= 400)
        #expect(try httpGet(http, "/healthz").status == 200)
        #expect(try await broker.stop() == 0)
    }

    /// The shipped example configuration is valid and equal to the built-in defaults (so its
    /// comments tell the truth), and the units pass `systemd-analyze verify` where systemd is.
    @Test func theShippedConfigurationAndUnitsAreValid() async throws {
        let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy")
        let directory = temporaryDirectory()
        let example = try ChildProcess("polderd", ["--config", deploy.appendingPathComponent("polderd.toml").path, "--check-config"],
                                       in: directory)
        #expect(try await example.wait() == 0, "\(example.stderr)")
        let defaults = try ChildProcess("polderd", ["--check-config"], in: directory)
        #expect(try await defaults.wait() == 0)
        #expect(example.stdoutLines.dropFirst() == defaults.stdoutLines.dropFirst())

        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else { return }
        let polderd = binaryDirectory.appendingPathComponent("polderd").path
        for unit in ["polderd.service", "polderd@.service"] {
            let text = try String(contentsOf: deploy.appendingPathComponent(unit), encoding: .utf8)
            // verify checks that ExecStart exists: point it at the binary just built.
            let name = unit == "polderd@.service" ? "polderd@test.service" : unit
            try text.replacingOccurrences(of: "/usr/local/bin/polderd", with: polderd)
                .write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
            let verify = Process()
            verify.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
            verify.arguments = ["verify", directory.appendingPathComponent(name).path]
            let errors = Pipe()
            verify.standardError = errors
            verify.standardOutput = errors
            try verify.run()
            verify.waitUntilExit()
            let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(verify.terminationStatus == 0, "\(unit): \(output)")
            #expect(!output.contains("Unknown key"), "\(unit): \(output)")
        }
    }
}
