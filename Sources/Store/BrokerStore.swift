import Platform
import Sodium
import Wire

/// The broker's durable state on LMDB: topic descriptors, each topic's events (stored once, in
/// position order), publisher heads and durable sessions. One writer thread commits batches with
/// fsync (group commit); reads run on any thread against the committed state.
public final class BrokerStore: @unchecked Sendable {
    public struct Options: Sendable {
        /// The map LMDB starts with; it doubles on demand.
        public var initialMapSize = 1 << 30
        /// The most the map may grow to; beyond it publishes are refused (`storage full`).
        public var maximumMapSize = 1 << 40
        /// The broker's retention limits (0: no limit); topics may ask for less.
        public var retention = Retention(maximumEvents: 1_000_000, maximumBytes: 1 << 30, maximumAgeSeconds: 7 * 24 * 3600)
        /// Most operations and bytes in one transaction, to bound commit latency.
        public var maximumBatchOperations = 4096
        public var maximumBatchBytes = 16 << 20
        /// Most events one commit prunes; the rest wait for the next one.
        public var maximumPrunesPerCommit = 20_000

        public init() {}
    }

    /// What a broker finds in its store when it starts.
    public struct Contents: Sendable {
        public var descriptors: [TopicID: SignedTopicDescriptor] = [:]
        public var logs: [TopicID: TopicLog] = [:]
        public var heads: [PublisherKey: PublisherHead] = [:]
        public var sessions: [SessionKey: SessionRecord] = [:]
        /// Profiles of peers the broker last had as neighbours, so that a restart needs no bootstrap.
        public var peers: [SignedBrokerProfile] = []
    }

    /// A publisher on a topic.
    /// Also the `heads` key: topic ‖ publisher.
    public struct PublisherKey: Hashable, Sendable, StoreRecord {
        public let topic: TopicID
        public let publisher: SigningPublicKey

        public init(topic: TopicID, publisher: SigningPublicKey) {
            self.topic = topic
            self.publisher = publisher
        }

        public var byteCount: Int { 64 }

        public func write(to buffer: UnsafeMutableRawBufferPointer) {
            buffer.store(topic.raw, at: 0)
            buffer.store(publisher.raw, at: 32)
        }
    }


    /// 2 added the `ids`, `sequences` and `peers` databases; 3 dropped `ids` for the in-memory
    /// `EventIDIndex`. Older stores are migrated on open.
    static let schemaVersion: UInt32 = 3
    static let databaseNames = ["meta", "descriptors", "logs", "events", "heads", "sessions", "sequences", "peers"]

    let environment: LMDBEnvironment
    let tables: Tables
    let options: Options
    /// Stored events by ID; the writer changes it after each commit.
    let ids: EventIDIndex
    private let writer: StoreWriter

    struct Tables {
        let meta, descriptors, logs, events, heads, sessions, sequences, peers: LMDBDatabase
    }

    /// Opens the store in `directory` (created if needed) and reads what it holds. `onCommit` is
    /// called on the writer thread after each commit.
    public static func open(directory: String, options: Options = Options(),
                            onCommit: @escaping @Sendable (CommitOutcome) -> Void) throws(StoreError) -> (BrokerStore, Contents) {
        let environment = try LMDBEnvironment(directory: directory, initialMapSize: options.initialMapSize,
                                              maximumMapSize: options.maximumMapSize, databases: databaseNames)
        let tables = Tables(meta: try environment.openDatabase("meta"), descriptors: try environment.openDatabase("descriptors"),
                            logs: try environment.openDatabase("logs"), events: try environment.openDatabase("events"),
                            heads: try environment.openDatabase("heads"), sessions: try environment.openDatabase("sessions"),
                            sequences: try environment.openDatabase("sequences"), peers: try environment.openDatabase("peers"))
        try checkSchema(environment, tables)
        let ids = EventIDIndex()
        let contents = try load(environment, tables, ids: ids)
        let writer = try StoreWriter(environment: environment, tables: tables, ids: ids, options: options, contents: contents,
                                     onCommit: onCommit)
        return (BrokerStore(environment: environment, tables: tables, options: options, ids: ids, writer: writer), contents)
    }

    private init(environment: LMDBEnvironment, tables: Tables, options: Options, ids: EventIDIndex, writer: StoreWriter) {
        self.environment = environment
        self.tables = tables
        self.options = options
        self.ids = ids
        self.writer = writer
    }

    /// Queues operations for the next commit.
    public func submit(_ operations: [StoreOperation]) {
        writer.submit(operations)
    }

    /// Blocks until everything submitted so far is committed (or failed), stops the writer and
    /// closes the files; later reads fail.
    public func close() {
        writer.close()
        environment.close()
    }

    /// Bytes currently mapped (the map grows on demand).
    public var mapSize: Int { environment.mapSize }

    // MARK: Reads (any thread)

    /// Up to `maximumCount` events of `topic` from `position` on, stopping before `maximumBytes`
    /// would be exceeded (at least one event is returned when there is one).
    public func events(topic: TopicID, from position: UInt64, maximumCount: Int, maximumBytes: Int) throws(StoreError) -> [StoredEvent] {
        let events = tables.events
        return try environment.read { transaction throws(StoreError) in
            var result: [StoredEvent] = []
            var bytes = 0
            try transaction.scan(events, from: StoredEvent.Key(topic: topic, position: position)) { key, value throws(StoreError) in
                guard key.count == 40, topic.raw.elementsEqual(UnsafeRawBufferPointer(rebasing: key.prefix(32))) else { return false }
                let (arrival, expiry) = try StoredEvent.header(value)
                let encoded = Array(value[16...])
                guard result.isEmpty || bytes + encoded.count <= maximumBytes else { return false }
                bytes += encoded.count
                result.append(StoredEvent(position: StoredEvent.bigEndian(key, at: 32),
                                          arrival: arrival, expiry: expiry, encoded: encoded))
                return result.count < maximumCount
            }
            return result
        }
    }

    /// The first position in `log` whose event arrived at or after `time` (`log.next` if none).
    public func position(atOrAfter time: UInt64, topic: TopicID, log: TopicLog) throws(StoreError) -> UInt64 {
        let events = tables.events
        return try environment.read { transaction throws(StoreError) in
            var low = log.first
            var high = log.next
            while low < high {
                let middle = low + (high - low) / 2
                guard let value = try transaction.get(events, StoredEvent.Key(topic: topic, position: middle)) else {
                    throw StoreError(.corrupt, "position \(middle) of topic \(topic.text) is missing from the store")
                }
                let arrival = try StoredEvent.header(value).arrival
                if arrival < time { low = middle + 1 } else { high = middle }
            }
            return low
        }
    }

    // MARK: Opening

    /// Writes the schema version into a new store, migrates a schema 1 store (indexes its events
    /// by sequence) and a schema 2 store (drops `ids`), and refuses any other version.
    private static func checkSchema(_ environment: LMDBEnvironment, _ tables: Tables) throws(StoreError) {
        let key = Array("schema".utf8)
        var current = ByteWriter()
        current.u32(schemaVersion)
        let stored = try environment.read { transaction throws(StoreError) in try transaction.get(tables.meta, key) }
        // Opening `ids` creates it, so only a store that has it opens it.
        let oldIDs = stored == [0, 0, 0, 2] ? try environment.openDatabase("ids") : nil
        // A migration writes (and deleting `ids` frees pages, which writes too): grow the map if it is full.
        while true {
            do {
                try environment.write { transaction throws(StoreError) in
                    guard let stored = try transaction.get(tables.meta, key) else {
                        try transaction.put(tables.meta, key, current.bytes)
                        return
                    }
                    var reader = ByteReader(stored)
                    let version = try? reader.u32("schema")
                    switch version {
                    case schemaVersion?:
                        return
                    case 1?:
                        try buildSequenceIndex(tables, in: transaction)
                        try transaction.put(tables.meta, key, current.bytes)
                    case 2?:
                        if let oldIDs { try transaction.drop(oldIDs) }
                        try transaction.put(tables.meta, key, current.bytes)
                    default:
                        throw StoreError(.corrupt, "the store in \(environment.directory) has schema \(version.map(String.init) ?? "?"); this polderd reads schemas 1 to \(schemaVersion)")
                    }
                }
                return
            } catch {
                guard error.kind == .mapFull, try environment.grow() else { throw error }
            }
        }
    }

    /// Indexes every stored event by publisher and sequence (schema 1 → 3).
    private static func buildSequenceIndex(_ tables: Tables, in transaction: LMDBTransaction) throws(StoreError) {
        var stored: [(UInt64, SignedEvent)] = []
        try transaction.scan(tables.events) { key, value throws(StoreError) in
            _ = try StoredEvent.header(value)
            let event = try decode("an event") { () throws(WireError) in try SignedEvent.decode(Array(value[16...])) }
            stored.append((StoredEvent.bigEndian(key, at: 32), event))
            return true
        }
        var unused: [EventIDIndex.Change] = []  // the ID index is built from `sequences` on loading
        for (position, event) in stored { try EventIndex.add(event, at: position, tables: tables, in: transaction, changes: &unused) }
    }

    private static func load(_ environment: LMDBEnvironment, _ tables: Tables, ids: EventIDIndex) throws(StoreError) -> Contents {
        try environment.read { transaction throws(StoreError) in
            var contents = Contents()
            try EventIndex.buildIDIndex(ids, tables: tables, in: transaction)
            try transaction.scan(tables.descriptors) { _, value throws(StoreError) in
                let descriptor = try decode("a topic descriptor") { () throws(WireError) in try SignedTopicDescriptor.decode(Array(value)) }
                contents.descriptors[descriptor.descriptor.topic] = descriptor
                return true
            }
            try transaction.scan(tables.logs) { key, value throws(StoreError) in
                let topic = try decode("a topic log key") { () throws(WireError) in
                    var reader = ByteReader(Array(key))
                    let topic = try reader.signingKey("topic")
                    try reader.expectEnd("topic log key")
                    return topic
                }
                contents.logs[topic] = try decode("the log of topic \(topic.text)") { () throws(WireError) in try TopicLog.decode(Array(value)) }
                return true
            }
            try transaction.scan(tables.heads) { key, value throws(StoreError) in
                let head = try decode("a publisher head") { () throws(WireError) in
                    var keyReader = ByteReader(Array(key))
                    let publisher = PublisherKey(topic: try keyReader.signingKey("topic"), publisher: try keyReader.signingKey("publisher"))
                    try keyReader.expectEnd("publisher head key")
                    return (publisher, try PublisherHead.decodeStored(Array(value)))
                }
                contents.heads[head.0] = head.1
                return true
            }
            try transaction.scan(tables.sessions) { key, value throws(StoreError) in
                let session = try decode("a durable session") { () throws(WireError) in
                    (try SessionKey.decode(Array(key)), try SessionRecord.decode(Array(value)))
                }
                contents.sessions[session.0] = session.1
                return true
            }
            try transaction.scan(tables.peers) { _, value throws(StoreError) in
                // A remembered profile that no longer decodes or verifies is only a lost hint.
                if let profile = try? SignedBrokerProfile.decode(Array(value)), (try? profile.verifySignature()) != nil {
                    contents.peers.append(profile)
                }
                return true
            }
            return contents
        }
    }

    static func decode<T>(_ what: String, _ body: () throws(WireError) -> T) throws(StoreError) -> T {
        do { return try body() } catch { throw StoreError(.corrupt, "the store holds \(what) that does not decode: \(error.message)") }
    }
}

/// The `heads` value (protocol/README.md, "Broker store"): sequence ‖ event ID.
extension PublisherHead: StoreRecord {
    public var byteCount: Int { 40 }

    public func write(to buffer: UnsafeMutableRawBufferPointer) {
        buffer.storeBigEndian(sequence, at: 0)
        buffer.store(eventID.raw, at: 8)
    }

    static func decodeStored(_ bytes: [UInt8]) throws(WireError) -> PublisherHead {
        var reader = ByteReader(bytes)
        let head = PublisherHead(sequence: try reader.u64("sequence"), eventID: try reader.eventID("event ID"))
        try reader.expectEnd("publisher head")
        return head
    }
}
