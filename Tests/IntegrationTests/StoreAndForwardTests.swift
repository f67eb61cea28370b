import Foundation
import PolderClient
import Sodium
import TestSupport
import Testing
import Wire

/// Durability and offline delivery, with real `polderd` processes and the `polder` CLI.
@Suite(.serialized, .timeLimit(.minutes(5))) struct StoreAndForwardTests {
    /// Alice owns a topic that Bob reads.
    func setUp(_ broker: Polderd) async throws -> (alice: User, bob: User, topic: String) {
        let alice = try await User(), bob = try await User()
        let create = try await polder(["topic", "create", "inbox", "--reader", bob.id], home: alice.home, broker: broker)
        let topic = try #require(create.stdoutLines.first, "\(create.stderr)")
        return (alice, bob, topic)
    }

    /// Bob runs `polder sub --durable NAME` until `count` events came or `seconds` passed.
    func durableRead(_ topic: String, as user: User, on broker: Polderd, name: String = "inbox", count: Int? = nil,
                     seconds: Double = 2) async throws -> ChildProcess {
        var arguments = ["sub", topic, "--durable", name, "--timeout", "\(seconds)"]
        if let count { arguments += ["--count", "\(count)"] }
        let run = try await polder(arguments, home: user.home, broker: broker, seconds: seconds + 30)
        #expect(run.process.terminationStatus == 0, "\(run.stderr)")
        return run
    }

    @Test func durableSubscriberGetsEverythingPublishedWhileAwayExactlyOnce() async throws {
        let broker = try await Polderd()
        let (alice, bob, topic) = try await setUp(broker)
        let opened = try await durableRead(topic, as: bob, on: broker, seconds: 0.5)
        #expect(opened.stderr.contains("opened durable session 'inbox'"))

        let lines = (1...1000).map { "event \($0)" }
        let published = try await polder(["pub", topic, "--stdin"], home: alice.home, broker: broker, stdin: lines.joined(separator: "\n") + "\n", seconds: 120)
        #expect(published.process.terminationStatus == 0, "\(published.stderr)")
        #expect(published.stdoutLines.count == 1000)

        let back = try await durableRead(topic, as: bob, on: broker, count: 1000, seconds: 60)
        #expect(back.stderr.contains("resumed durable session 'inbox'"))
        #expect(back.stdoutLines == lines)
        // Everything was acknowledged: nothing comes a second time.
        let again = try await durableRead(topic, as: bob, on: broker, seconds: 1)
        #expect(again.stdoutLines.isEmpty)
        #expect(try await broker.stop() == 0)
    }

    @Test func restartKeepsTopicsSessionsAndCursors() async throws {
        let broker = try await Polderd()
        let (alice, bob, topic) = try await setUp(broker)
        _ = try await durableRead(topic, as: bob, on: broker, seconds: 0.5)
        let lines = (1...10).map { "m\($0)" }
        _ = try await polder(["pub", topic, "--stdin"], home: alice.home, broker: broker, stdin: lines.joined(separator: "\n") + "\n")
        let firstHalf = try await durableRead(topic, as: bob, on: broker, count: 5, seconds: 20)
        #expect(firstHalf.stdoutLines == Array(lines[..<5]))
        #expect(try await broker.stop() == 0)

        let restarted = try await broker.restarted()
        #expect(restarted.child.stderr.contains("store holds 1 topic(s), 10 event(s), 1 durable session(s)"))
        let secondHalf = try await durableRead(topic, as: bob, on: restarted, count: 5, seconds: 20)
        #expect(secondHalf.stdoutLines == Array(lines[5...]))
        // The topic and Alice's sequence survived too.
        let more = try await polder(["pub", topic, "m11"], home: alice.home, broker: restarted)
        #expect(more.stdoutLines.first?.hasPrefix("11 ") == true, "\(more.stderr)")
        #expect(try await durableRead(topic, as: bob, on: restarted, count: 1, seconds: 20).stdoutLines == ["m11"])
        #expect(try await restarted.stop() == 0)
    }

    @Test func killNineLosesNoAcknowledgedEvent() async throws {
        var broker = try await Polderd()
        let (alice, bob, topic) = try await setUp(broker)
        _ = try await durableRead(topic, as: bob, on: broker, seconds: 0.5)
        var acknowledged: [String] = []
        // Kill the broker at several points while Alice streams events into it.
        for (round, killAfter) in [0.05, 0.5, 1.2].enumerated() {
            let lines = (1...20_000).map { "round \(round) event \($0)" }
            let publisher = try polderInBackground(["pub", topic, "--stdin"], home: alice.home, broker: broker,
                                                   stdin: lines.joined(separator: "\n") + "\n")
            // Kill points are counted from the first acknowledgement, so a slow start cannot skip them.
            for _ in 0..<1000 where publisher.stdout.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            try await Task.sleep(for: .milliseconds(Int(killAfter * 1000)))
            broker.child.kill()
            let status = try await publisher.wait(seconds: 20)
            #expect(status != 0, "the publisher should notice the broker is gone")
            let acked = publisher.stdoutLines.count
            #expect(acked > 0 && acked < lines.count, "round \(round): \(acked) acknowledged; \(publisher.stderr)")
            acknowledged += lines[..<acked]
            broker = try await broker.restarted()
        }
        let read = try await durableRead(topic, as: bob, on: broker, seconds: 5)
        let received = read.stdoutLines
        // Every acknowledged event arrived, once, in publish order (unacknowledged ones may arrive too).
        #expect(Set(received).count == received.count)
        let receivedSet = Set(received)
        let missing = acknowledged.filter { !receivedSet.contains($0) }
        #expect(missing.isEmpty, "\(missing.count) acknowledged events lost, first \(missing.prefix(3))")
        #expect(received.filter { Set(acknowledged).contains($0) } == acknowledged)
        #expect(try await broker.stop() == 0)
    }

    @Test func dropsAreAnnouncedWithReasonAndCount() async throws {
        let broker = try await Polderd(extraArguments: ["--session-quota", "10", "--maintenance-interval", "0.2"])
        let (alice, bob, topic) = try await setUp(broker)
        _ = try await durableRead(topic, as: bob, on: broker, seconds: 0.5)
        // Quota: 25 waiting, 10 allowed.
        let lines = (1...25).map { "q\($0)" }
        _ = try await polder(["pub", topic, "--stdin"], home: alice.home, broker: broker, stdin: lines.joined(separator: "\n") + "\n")
        let quota = try await durableRead(topic, as: bob, on: broker, count: 10, seconds: 20)
        #expect(quota.stderr.contains("the broker dropped 15 event(s): session quota"), "\(quota.stderr)")
        #expect(quota.stdoutLines == Array(lines[15...]))
        // Expiry: an event with a one-second lifetime, read after it expired.
        _ = try await polder(["pub", topic, "short-lived", "--ttl", "1"], home: alice.home, broker: broker)
        _ = try await polder(["pub", topic, "lasting"], home: alice.home, broker: broker)
        try await Task.sleep(for: .milliseconds(1500))
        let expiry = try await durableRead(topic, as: bob, on: broker, count: 1, seconds: 20)
        #expect(expiry.stderr.contains("the broker dropped 1 event(s): expired"), "\(expiry.stderr)")
        #expect(expiry.stdoutLines == ["lasting"])
        #expect(broker.child.stderr.contains("missed 15 event(s)"))
        #expect(try await broker.stop() == 0)
    }

    @Test func historyForLateJoiners() async throws {
        let broker = try await Polderd(extraArguments: ["--retention-events", "5"])
        let (alice, bob, topic) = try await setUp(broker)
        let lines = (1...8).map { "h\($0)" }
        _ = try await polder(["pub", topic, "--stdin"], home: alice.home, broker: broker, stdin: lines.joined(separator: "\n") + "\n")
        let all = try await polder(["sub", topic, "--since", "beginning", "--count", "5", "--timeout", "20"], home: bob.home, broker: broker)
        #expect(all.stdoutLines == Array(lines[3...]), "\(all.stderr)")
        let fromPosition = try await polder(["sub", topic, "--since", "2", "--count", "5", "--timeout", "20"], home: bob.home, broker: broker)
        #expect(fromPosition.stderr.contains("the broker dropped 2 event(s): retention (event count)"), "\(fromPosition.stderr)")
        #expect(fromPosition.stdoutLines == Array(lines[3...]))
        let recent = try await polder(["sub", topic, "--since", "1h", "--count", "5", "--timeout", "20"], home: bob.home, broker: broker)
        #expect(recent.stdoutLines == Array(lines[3...]))
        let none = try await polder(["sub", topic, "--since", "2099-01-01T00:00:00Z", "--timeout", "1"], home: bob.home, broker: broker)
        #expect(none.stdoutLines.isEmpty)
        let bad = try await polder(["sub", topic, "--since", "yesterday"], home: bob.home, broker: broker)
        #expect(bad.process.terminationStatus != 0)
        #expect(try await broker.stop() == 0)
    }

    @Test func stalledSubscriberDoesNotStopAFastOne() async throws {
        let broker = try await Polderd(extraArguments: ["--delivery-buffer", "262144"])
        let owner = SigningKeyPair(), stalledReader = SigningKeyPair(), fastReader = SigningKeyPair()
        let client = try await PolderClient.connect(to: broker.address, identity: owner)
        let topic = try await TestTopic(on: client, owner: owner, readers: [stalledReader, fastReader])
        let stalled = try RawConnection(address: broker.address, receiveBuffer: 4096)
        try stalled.handshake(as: stalledReader)
        try stalled.send(.subscribe(request: 1, topic: topic.id, start: .live, durableName: ""))
        #expect(try stalled.receive() == .subscribed(request: 1, resumed: false, position: 1))
        let fast = try await PolderClient.connect(to: broker.address, identity: fastReader)
        let subscription = try await fast.subscribe(topic.id)
        let payload = String(repeating: "y", count: 30_000)
        var published: [SignedEvent] = []
        for batch in 0..<20 {
            let events = try (1...10).map { try topic.event(payload, by: owner, sequence: UInt64(batch * 10 + $0)) }
            try await client.publish(events)
            published += events
        }
        #expect(await collect(subscription, count: 200).map(\.id) == published.map(\.id))
        for event in published {
            guard case let .deliver(_, delivered) = try stalled.receive() else { Issue.record("expected a delivery"); return }
            #expect(delivered.id == event.id)
        }
        client.close(); fast.close()
        #expect(try await broker.stop() == 0)
    }

    @Test func aFullStoreRefusesPublishesAndKeepsServingReads() async throws {
        let broker = try await Polderd(extraArguments: ["--store-max-size", "2097152"])
        let (alice, bob, topic) = try await setUp(broker)
        _ = try await durableRead(topic, as: bob, on: broker, seconds: 0.5)
        let big = String(repeating: "z", count: 30_000)
        let lines = (1...200).map { "\($0) \(big)" }
        let publisher = try await polder(["pub", topic, "--stdin"], home: alice.home, broker: broker, stdin: lines.joined(separator: "\n") + "\n", seconds: 60)
        #expect(publisher.process.terminationStatus != 0)
        #expect(publisher.stderr.contains("store is full"), "\(publisher.stderr)")
        let acked = publisher.stdoutLines.count
        #expect(acked > 10 && acked < 200)
        let read = try await durableRead(topic, as: bob, on: broker, count: acked, seconds: 30)
        #expect(read.stdoutLines == Array(lines[..<acked]))
        #expect(try await broker.stop() == 0)
    }

    @Test func aFullDiskRefusesPublishesAndKeepsServingReads() async throws {
        let mountPoint = temporaryDirectory().appendingPathComponent("small")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        guard runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", mountPoint.path]) == 0 else {
            // Mounting needs root; without it this path is covered by the map-size test above.
            return
        }
        defer { runTool("/bin/umount", ["-l", mountPoint.path]) }
        let broker = try await Polderd(dataDirectory: mountPoint)
        let (alice, bob, topic) = try await setUp(broker)
        _ = try await durableRead(topic, as: bob, on: broker, seconds: 0.5)
        let big = String(repeating: "d", count: 30_000)
        let lines = (1...200).map { "\($0) \(big)" }
        let publisher = try await polder(["pub", topic, "--stdin"], home: alice.home, broker: broker, stdin: lines.joined(separator: "\n") + "\n", seconds: 60)
        #expect(publisher.stderr.contains("store is full"), "\(publisher.stderr)")
        let acked = publisher.stdoutLines.count
        #expect(acked > 10 && acked < 200)
        let read = try await durableRead(topic, as: bob, on: broker, count: acked, seconds: 30)
        #expect(read.stdoutLines == Array(lines[..<acked]))
        #expect(try await broker.stop() == 0)
    }
}
