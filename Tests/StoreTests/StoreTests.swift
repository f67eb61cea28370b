import Platform
import Sodium
@testable import Store
import Testing
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// A store in a fresh temporary directory, with the outcomes of its commits collected.
final class StoreFixture: @unchecked Sendable {
    let directory: String
    private let lock = PthreadMutex()
    private var outcomes: [CommitOutcome] = []
    private let committed = Semaphore()
    private(set) var store: BrokerStore!
    private(set) var contents: BrokerStore.Contents!
    private var nextTicket: UInt64 = 0

    init(options: BrokerStore.Options = BrokerStore.Options(), directory: String? = nil) throws {
        self.directory = directory ?? {
            var template = Array("/tmp/polder-store-XXXXXX".utf8CString)
            return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        }()
        try open(options: options)
    }

    func open(options: BrokerStore.Options = BrokerStore.Options()) throws {
        (store, contents) = try BrokerStore.open(directory: self.directory, options: options) { [self] outcome in
            lock.withLock { outcomes.append(outcome) }
            committed.signal()
        }
    }

    func reopen(options: BrokerStore.Options = BrokerStore.Options()) throws {
        store.close()
        store = nil
        try open(options: options)
    }

    func ticket() -> UInt64 {
        nextTicket += 1
        return nextTicket
    }

    /// Submits `operations` and waits for the commit that holds them.
    @discardableResult
    func commit(_ operations: [StoreOperation]) -> CommitOutcome {
        store.submit(operations)
        #expect(committed.wait(seconds: 10))
        return lock.withLock { outcomes.removeLast() }
    }

    @discardableResult
    func append(_ events: [SignedEvent]) -> [StoreResult] {
        commit(events.map { .append($0, ticket: ticket()) }).results.map(\.result)
    }

    /// A new publisher's topic holding its events 1 through `count`.
    func topicHoldingEvents(_ count: UInt64) -> (publisher: Publisher, events: [SignedEvent]) {
        let publisher = Publisher()
        commit([.putDescriptor(publisher.descriptor(), ticket: ticket())])
        let events = (1...count).map { publisher.event($0) }
        append(events)
        return (publisher, events)
    }

    deinit {
        store?.close()
        store = nil
        FileSystem.removeTree(directory)
    }
}

struct Publisher {
    var topicKey = SigningKeyPair()
    let identity = SigningKeyPair()
    let epochKey = KeyAgreementKeyPair().publicKey
    var topic: TopicID { topicKey.publicKey }

    func descriptor(revision: UInt64 = 1, retention: Retention = Retention()) -> SignedTopicDescriptor {
        TopicDescriptor(topic: topic, revision: revision, name: "t", owners: [topicKey.publicKey], openPublishing: true, publishers: [],
                        epoch: 0, epochPublicKey: epochKey, readers: [], retention: retention).signed(by: topicKey)
    }

    func event(_ sequence: UInt64, expiry: UInt64 = 0, size: Int = 16) -> SignedEvent {
        Event(topic: topic, publisher: identity.publicKey, sequence: sequence, time: 1, expiry: expiry, epoch: 0,
              payload: [UInt8](repeating: UInt8(sequence & 0xFF), count: size)).signed(by: identity)
    }
}

@Suite struct BrokerStoreTests {
    @Test func appendsInPositionOrderAndKeepsEverythingAcrossReopen() throws {
        let fixture = try StoreFixture()
        let publisher = Publisher()
        fixture.commit([.putDescriptor(publisher.descriptor(), ticket: fixture.ticket())])
        let events = (1...100).map { publisher.event(UInt64($0)) }
        let results = fixture.append(events)
        for (index, result) in results.enumerated() {
            guard case .appended(let position, _) = result else { Issue.record("not appended: \(result)"); return }
            #expect(position == UInt64(index + 1))
        }
        let session = SessionKey(client: SigningKeyPair().publicKey, topic: publisher.topic, name: "inbox")
        fixture.commit([.putSession(session, SessionRecord(cursor: 42, lastSeen: 7), ticket: fixture.ticket())])

        try fixture.reopen()
        let contents = fixture.contents!
        #expect(contents.descriptors[publisher.topic] == publisher.descriptor())
        #expect(contents.logs[publisher.topic]?.first == 1)
        #expect(contents.logs[publisher.topic]?.next == 101)
        #expect(contents.heads[.init(topic: publisher.topic, publisher: publisher.identity.publicKey)] == PublisherHead(sequence: 100, eventID: events[99].id))
        #expect(contents.sessions[session] == SessionRecord(cursor: 42, lastSeen: 7))

        let read = try fixture.store.events(topic: publisher.topic, from: 41, maximumCount: 1000, maximumBytes: 1 << 20)
        #expect(read.map(\.position) == Array(41...100))
        #expect(read.map(\.encoded) == events[40...].map(\.encoded))
        // Another topic's events never leak into a read.
        let other = Publisher()
        fixture.append([other.event(1)])
        #expect(try fixture.store.events(topic: publisher.topic, from: 100, maximumCount: 10, maximumBytes: 1 << 20).count == 1)
    }

    @Test func readsStopAtTheByteBudgetButReturnAtLeastOne() throws {
        let fixture = try StoreFixture()
        let publisher = Publisher()
        fixture.append((1...10).map { publisher.event(UInt64($0), size: 1000) })
        #expect(try fixture.store.events(topic: publisher.topic, from: 1, maximumCount: 100, maximumBytes: 10).count == 1)
        #expect(try fixture.store.events(topic: publisher.topic, from: 1, maximumCount: 100, maximumBytes: 3500).count == 3)
    }

    @Test func appliesThePublisherSequenceRule() throws {
        let fixture = try StoreFixture()
        let publisher = Publisher()
        let first = publisher.event(1)
        let results = fixture.append([first, first, publisher.event(1, size: 3)])
        guard case .appended = results[0], case .duplicate = results[1], case .sequenceConflict(let head) = results[2] else {
            Issue.record("unexpected results \(results)"); return
        }
        #expect(head == PublisherHead(sequence: 1, eventID: first.id))
    }

    @Test func refusesStaleDescriptors() throws {
        let fixture = try StoreFixture()
        let publisher = Publisher()
        let second = publisher.descriptor(revision: 2)
        let conflicting = Publisher(topicKey: publisher.topicKey).descriptor(revision: 2)
        let results = fixture.commit([
            .putDescriptor(second, ticket: 1),
            .putDescriptor(publisher.descriptor(revision: 1), ticket: 2),
            .putDescriptor(second, ticket: 3),
            .putDescriptor(conflicting, ticket: 4),  // same revision, other content
        ]).results.map(\.result)
        guard case .stored = results[0], case .staleDescriptor(held: 2) = results[1], case .stored = results[2],
              case .staleDescriptor(held: 2) = results[3] else {
            Issue.record("unexpected results \(results)"); return
        }
    }

    @Test func prunesByCountAndRemembersWhy() throws {
        var options = BrokerStore.Options()
        options.retention = Retention(maximumEvents: 1000, maximumBytes: 0, maximumAgeSeconds: 0)
        let fixture = try StoreFixture(options: options)
        let publisher = Publisher()
        fixture.commit([.putDescriptor(publisher.descriptor(retention: Retention(maximumEvents: 10)), ticket: fixture.ticket())])
        let outcome = fixture.commit((1...25).map { .append(publisher.event(UInt64($0)), ticket: UInt64($0 + 10)) })
        #expect(outcome.pruned[.retentionCount] == 15)
        let log = try #require(outcome.logs[publisher.topic])
        #expect(log.first == 16 && log.next == 26 && log.count == 10)
        #expect(log.droppedCounts(from: 3).first?.0 == .retentionCount)
        #expect(log.droppedCounts(from: 3).first?.1 == 13)
        #expect(try fixture.store.events(topic: publisher.topic, from: 1, maximumCount: 100, maximumBytes: 1 << 20).map(\.position) == Array(16...25))
    }

    @Test func prunesExpiredEventsAndByBytes() throws {
        let fixture = try StoreFixture()
        let publisher = Publisher()
        fixture.commit([.putDescriptor(publisher.descriptor(retention: Retention(maximumBytes: 3000)), ticket: fixture.ticket())])
        let soon = Environment.wallClockMilliseconds() + 300
        fixture.append([publisher.event(1, expiry: soon), publisher.event(2, expiry: soon), publisher.event(3)])
        usleep(400_000)
        let outcome = fixture.commit([.prune])
        #expect(outcome.pruned[.expired] == 2)
        #expect(outcome.logs[publisher.topic]?.first == 3)
        let bytes = fixture.commit((4...10).map { .append(publisher.event(UInt64($0), size: 1000), ticket: UInt64(100 + $0)) })
        #expect((bytes.pruned[.retentionBytes] ?? 0) >= 5)
        #expect((bytes.logs[publisher.topic]?.bytes ?? .max) <= 3000)
    }

    @Test func prunesByAge() throws {
        let fixture = try StoreFixture()
        let publisher = Publisher()
        fixture.commit([.putDescriptor(publisher.descriptor(retention: Retention(maximumAgeSeconds: 1)), ticket: fixture.ticket())])
        fixture.append([publisher.event(1), publisher.event(2)])
        #expect(fixture.commit([.prune]).pruned.isEmpty)
        usleep(1_100_000)
        let outcome = fixture.commit([.append(publisher.event(3), ticket: fixture.ticket())])
        #expect(outcome.pruned[.retentionAge] == 2)
        try fixture.reopen()
        let log = try #require(fixture.contents.logs[publisher.topic])
        #expect(log.first == 3 && log.next == 4)
        #expect(log.droppedCounts(from: 1).first?.0 == .retentionAge)
        #expect(log.droppedCounts(from: 1).first?.1 == 2)
    }

    @Test func findsPositionsByArrivalTime() throws {
        let fixture = try StoreFixture()
        let publisher = Publisher()
        fixture.append((1...3).map { publisher.event(UInt64($0)) })
        usleep(20_000)
        let middle = Environment.wallClockMilliseconds()
        usleep(20_000)
        let outcome = fixture.commit((4...6).map { .append(publisher.event(UInt64($0)), ticket: UInt64(10 + $0)) })
        let log = try #require(outcome.logs[publisher.topic])
        #expect(try fixture.store.position(atOrAfter: middle, topic: publisher.topic, log: log) == 4)
        #expect(try fixture.store.position(atOrAfter: 0, topic: publisher.topic, log: log) == 1)
        #expect(try fixture.store.position(atOrAfter: .max, topic: publisher.topic, log: log) == 7)
    }

    @Test func growsTheMapThenRefusesNewDataWhenItMayNotGrowFurther() throws {
        var options = BrokerStore.Options()
        options.initialMapSize = 256 << 10
        options.maximumMapSize = 1 << 20
        let fixture = try StoreFixture(options: options)
        let publisher = Publisher()
        var full: CommitOutcome?
        var sequence: UInt64 = 0
        for _ in 0..<200 {
            let events = (0..<8).map { _ in sequence += 1; return publisher.event(sequence, size: 4000) }
            let outcome = fixture.commit(events.map { .append($0, ticket: fixture.ticket()) })
            if outcome.storageFull != nil { full = outcome; break }
        }
        let refused = try #require(full)
        #expect(refused.storageFull?.kind == .mapFull)
        #expect(refused.results.allSatisfy { if case .failed = $0.result { true } else { false } })
        #expect(fixture.store.mapSize == 1 << 20)
        // What was acknowledged before is still there, and cursors can still move.
        let stored = try fixture.store.events(topic: publisher.topic, from: 1, maximumCount: 10_000, maximumBytes: 1 << 30)
        #expect(stored.count > 100)
        #expect(stored.first?.position == 1)
    }

    @Test func aDamagedStoreIsRefusedWithAClearError() throws {
        let directory = try StoreFixture().directory + "-damaged"
        try FileSystem.createDirectory(directory)
        defer { FileSystem.removeTree(directory) }
        try FileSystem.writeAtomically([UInt8](repeating: 0xAB, count: 64 << 10), to: FileSystem.join(directory, "data.mdb"))
        #expect {
            _ = try BrokerStore.open(directory: directory) { _ in }
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.kind == .corrupt && error.message.contains(directory)
        }
    }

    @Test func aSecondBrokerCannotOpenTheSameStore() throws {
        let fixture = try StoreFixture()
        #expect {
            _ = try BrokerStore.open(directory: fixture.directory) { _ in }
        } throws: { error in
            (error as? StoreError)?.kind == .locked
        }
    }
}

@Suite struct TopicLogTests {
    @Test func countsDropsByReasonFromAnyPosition() {
        var log = TopicLog()
        log.next = 21
        for _ in 0..<5 { log.pruneFront(bytesRemoved: 1, reason: .expired) }  // 1...5
        for _ in 0..<3 { log.pruneFront(bytesRemoved: 1, reason: .retentionCount) }  // 6...8
        for _ in 0..<2 { log.pruneFront(bytesRemoved: 1, reason: .expired) }  // 9...10
        #expect(log.first == 11)
        let fromStart = log.droppedCounts(from: 1)
        #expect(fromStart.count == 2)
        #expect(fromStart.first { $0.0 == .expired }?.1 == 7)
        #expect(fromStart.first { $0.0 == .retentionCount }?.1 == 3)
        let fromMiddle = log.droppedCounts(from: 7)
        #expect(fromMiddle.first { $0.0 == .retentionCount }?.1 == 2)
        #expect(fromMiddle.first { $0.0 == .expired }?.1 == 2)
        #expect(log.droppedCounts(from: 11).isEmpty)
    }
}
