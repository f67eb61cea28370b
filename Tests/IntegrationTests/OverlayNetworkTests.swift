import Foundation
import Testing

/// Several real `polderd` processes joined by peer links: events published on one broker reach
/// subscribers on the others, through a broker failing and through a partition.
@Suite(.serialized, .timeLimit(.minutes(5))) struct OverlayNetworkTests {
    /// Short periods so that the overlay converges in seconds.
    static let overlayArguments = ["--overlay-period", "0.2"]

    /// Starts `count` brokers; every one after the first bootstraps from the first.
    func network(_ count: Int) async throws -> [Polderd] {
        let first = try await Polderd(extraArguments: ["--peer-listen", "127.0.0.1:0"] + Self.overlayArguments)
        var brokers = [first]
        for _ in 1..<count {
            brokers.append(try await Polderd(extraArguments: ["--peer-listen", "127.0.0.1:0", "--bootstrap", first.peerAddress!]
                                                              + Self.overlayArguments))
        }
        return brokers
    }

    /// Waits until `broker` holds `topic` (descriptors spread to every peer).
    func waitForTopic(_ topic: String, on broker: Polderd, seconds: Double = 20) async throws {
        try await broker.child.waitForStderr("topic \(topic) ", seconds: seconds)
    }

    /// `user` reads `count` events of `topic` from the durable session `name` on `broker`.
    /// With `until`, reads until that line (or the timeout) instead of a count.
    func read(_ topic: String, as user: User, on broker: Polderd, name: String, count: Int = 0, until last: String? = nil,
              seconds: Double = 30) async throws -> [String] {
        var arguments = ["sub", topic, "--durable", name, "--timeout", "\(seconds)"]
        if count > 0 { arguments += ["--count", "\(count)"] }
        guard let last else {
            let run = try await polder(arguments, home: user.home, broker: broker, seconds: seconds + 30)
            #expect(count == 0 || run.process.terminationStatus == 0, "\(run.stderr)")
            return run.stdoutLines
        }
        let run = try polderInBackground(arguments, home: user.home, broker: broker)
        let deadline = Date().addingTimeInterval(seconds)
        while !run.stdoutLines.contains(last) && run.process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        try await Task.sleep(for: .milliseconds(300))  // anything after it would be a duplicate
        run.kill()
        return run.stdoutLines
    }

    func publish(_ lines: [String], on topic: String, as user: User, at broker: Polderd) async throws {
        let run = try await polder(["pub", topic, "--stdin"], home: user.home, broker: broker, stdin: lines.joined(separator: "\n") + "\n")
        #expect(run.process.terminationStatus == 0, "\(run.stderr)")
        #expect(run.stdoutLines.count == lines.count)
    }

    /// The observability endpoints of a broker that gets its events from a peer.
    @Test func metricsAndInfoShowPeersAndEventsFromThem() async throws {
        let first = try await Polderd(extraArguments: ["--peer-listen", "127.0.0.1:0"] + Self.overlayArguments)
        let second = try await Polderd(extraArguments: ["--peer-listen", "127.0.0.1:0", "--bootstrap", first.peerAddress!,
                                                        "--http-listen", "127.0.0.1:0"] + Self.overlayArguments)
        let http = try #require(second.httpAddress)
        let alice = try await User(), bob = try await User()
        let create = try await polder(["topic", "create", "news", "--reader", bob.id], home: alice.home, broker: first)
        let topic = try #require(create.stdoutLines.first, "\(create.stderr)")
        try await waitForTopic(topic, on: second)
        #expect(try await read(topic, as: bob, on: second, name: "far", count: 0, seconds: 0.3).isEmpty)
        let lines = (1...10).map { "peer \($0)" }
        try await publish(lines, on: topic, as: alice, at: first)
        #expect(try await read(topic, as: bob, on: second, name: "far", count: 10) == lines)

        let page = try httpGet(http, "/metrics").body
        #expect(try #require(metric(page, "polder_peer_links")) >= 1)
        #expect(metric(page, "polder_events_received_total{origin=\"peer\"}") == 10)
        #expect(metric(page, "polder_events_received_total{origin=\"client\"}") == 0)
        #expect(try #require(metric(page, "polder_peer_bytes_received_total")) > 10 * 100)
        #expect(try #require(metric(page, "polder_overlay_neighbours")) >= 1)
        let info = try #require(try JSONSerialization.jsonObject(with: Data(httpGet(http, "/v1/info").body.utf8)) as? [String: Any])
        let peers = try #require(info["peers"] as? [[String: Any]])
        let firstID = try #require(first.child.stderr.split(separator: " ").drop { $0 != "polderd" }.dropFirst().first)
        #expect(peers.contains { $0["broker"] as? String == String(firstID) && $0["advertised"] as? String == first.peerAddress })
        #expect(try await second.stop() == 0)
        #expect(try await first.stop() == 0)
    }

    @Test func fiveBrokersDeliverEverywhereAndSurviveOneBeingKilled() async throws {
        let brokers = try await network(5)
        let alice = try await User(), bob = try await User()
        let create = try await polder(["topic", "create", "news", "--reader", bob.id], home: alice.home, broker: brokers[0])
        let topic = try #require(create.stdoutLines.first, "\(create.stderr)")
        for broker in brokers[1...] { try await waitForTopic(topic, on: broker) }
        // Bob opens durable sessions on the middle and the last broker, which then serve the topic.
        #expect(try await read(topic, as: bob, on: brokers[2], name: "middle", count: 0, seconds: 0.3).isEmpty)
        #expect(try await read(topic, as: bob, on: brokers[4], name: "last", count: 0, seconds: 0.3).isEmpty)

        let first = (1...20).map { "first \($0)" }
        try await publish(first, on: topic, as: alice, at: brokers[0])
        #expect(try await read(topic, as: bob, on: brokers[4], name: "last", count: 20) == first)
        #expect(try await read(topic, as: bob, on: brokers[2], name: "middle", count: 20) == first)

        // The middle broker dies; delivery to the last one goes on.
        brokers[2].child.kill()
        let second = (1...20).map { "second \($0)" }
        try await publish(second, on: topic, as: alice, at: brokers[0])
        #expect(try await read(topic, as: bob, on: brokers[4], name: "last", count: 20) == second)

        // It comes back with no bootstrap (it remembers its peers) and catches up by sync.
        let restarted = try await brokers[2].restarted(extraArguments: ["--peer-listen", "127.0.0.1:0"] + Self.overlayArguments)
        // The line comes after "listening", which is all `restarted` waits for.
        try await restarted.child.waitForStderr("remembering", seconds: 10)
        // A crash may lose the last second of cursor updates: Bob may see the end of the first batch again.
        let caughtUp = try await read(topic, as: bob, on: restarted, name: "middle", until: "second 20", seconds: 40)
        #expect(caughtUp.filter { $0.hasPrefix("second") } == second)
        #expect(first.reversed().starts(with: caughtUp.filter { $0.hasPrefix("first") }.reversed()), "\(caughtUp)")
        for broker in brokers where broker !== brokers[2] { #expect(try await broker.stop() == 0) }
        #expect(try await restarted.stop() == 0)
    }

    @Test func acknowledgedEventsSurviveThePublishersBrokerDying() async throws {
        let brokers = try await network(3)
        let alice = try await User(), bob = try await User()
        let create = try await polder(["topic", "create", "log", "--reader", bob.id], home: alice.home, broker: brokers[0])
        let topic = try #require(create.stdoutLines.first, "\(create.stderr)")
        try await waitForTopic(topic, on: brokers[2])
        #expect(try await read(topic, as: bob, on: brokers[2], name: "far", count: 0, seconds: 0.3).isEmpty)
        // Wait for the far broker to be in the topic's ring of the first.
        try await Task.sleep(for: .seconds(2))

        let lines = (1...200).map { "event \($0)" }
        try await publish(lines, on: topic, as: alice, at: brokers[0])
        brokers[0].child.kill()  // at once after the last acknowledgement
        #expect(try await read(topic, as: bob, on: brokers[2], name: "far", count: 200) == lines)
        for broker in brokers[1...] { #expect(try await broker.stop() == 0) }
    }

    @Test(.enabled(if: getuid() == 0, "network namespaces need root"))
    func aPartitionHealsWithEveryEventDeliveredOnceInOrder() async throws {
        let namespaces = try NetworkNamespaces()
        defer { namespaces.remove() }
        let peer = ["--overlay-period", "0.2"]
        let a1 = try await Polderd(extraArguments: ["--peer-listen", "\(namespaces.addressA):0"] + peer, namespace: namespaces.a)
        let a2 = try await Polderd(extraArguments: ["--peer-listen", "\(namespaces.addressA):0", "--bootstrap", a1.peerAddress!] + peer,
                                   namespace: namespaces.a)
        let b1 = try await Polderd(extraArguments: ["--peer-listen", "\(namespaces.addressB):0", "--bootstrap", a1.peerAddress!] + peer,
                                   namespace: namespaces.b)
        let b2 = try await Polderd(extraArguments: ["--peer-listen", "\(namespaces.addressB):0", "--bootstrap", b1.peerAddress!] + peer,
                                   namespace: namespaces.b)
        let brokers = [a1, a2, b1, b2]
        let alice = try await User(), bob = try await User(), carol = try await User()
        let create = try await polder(["topic", "create", "shared", "--publisher", carol.id, "--reader", bob.id, "--reader", carol.id],
                                      home: alice.home, broker: a1)
        let topic = try #require(create.stdoutLines.first, "\(create.stderr)")
        for broker in brokers[1...] { try await waitForTopic(topic, on: broker) }
        // Bob reads on a2 and b2; the publishers write on a1 and b1.
        _ = try await read(topic, as: bob, on: a2, name: "a", seconds: 0.3)
        _ = try await read(topic, as: bob, on: b2, name: "b", seconds: 0.3)
        try await Task.sleep(for: .seconds(2))

        var seen: [String: [String]] = ["a": [], "b": []]
        func readBoth(_ count: Int, seconds: Double = 60) async throws {
            seen["a"]! += try await read(topic, as: bob, on: a2, name: "a", count: count, seconds: seconds)
            seen["b"]! += try await read(topic, as: bob, on: b2, name: "b", count: count, seconds: seconds)
        }
        try await publish((1...5).map { "alice \($0)" }, on: topic, as: alice, at: a1)
        try await publish((1...5).map { "carol \($0)" }, on: topic, as: carol, at: b1)
        try await readBoth(10)

        // Cut apart, both sides publish; each side sees its own.
        try namespaces.partition()
        try await publish((6...15).map { "alice \($0)" }, on: topic, as: alice, at: a1)
        try await publish((6...15).map { "carol \($0)" }, on: topic, as: carol, at: b1)
        seen["a"]! += try await read(topic, as: bob, on: a2, name: "a", count: 10, seconds: 60)
        seen["b"]! += try await read(topic, as: bob, on: b2, name: "b", count: 10, seconds: 60)
        #expect(seen["a"]!.suffix(10) == (6...15).map { "alice \($0)" })
        #expect(seen["b"]!.suffix(10) == (6...15).map { "carol \($0)" })

        // Healed: each side gets the other's, every event once, each publisher's in order.
        try namespaces.heal()
        try await readBoth(10)
        try await readBoth(0, seconds: 1)  // nothing more comes
        for (side, lines) in seen {
            #expect(lines.filter { $0.hasPrefix("alice") } == (1...15).map { "alice \($0)" }, "\(side): \(lines)")
            #expect(lines.filter { $0.hasPrefix("carol") } == (1...15).map { "carol \($0)" }, "\(side): \(lines)")
            #expect(lines.count == 30, "\(side): \(lines)")
        }
        for broker in brokers { #expect(try await broker.stop() == 0) }
    }
}
