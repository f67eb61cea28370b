import Sodium
import Wire

/// The indexes that let the overlay find stored events without scanning a topic's log: by
/// publisher and sequence (`sequences`, on disk, written and pruned in the same transaction as
/// the event) and by event ID (`EventIDIndex`, in memory, changed once the transaction commits).
/// See protocol/README.md, "Broker store".
enum EventIndex {
    /// The `sequences` key: topic ‖ publisher ‖ sequence.
    struct SequenceKey: StoreRecord {
        let topic: TopicID
        let publisher: SigningPublicKey
        let sequence: UInt64

        var byteCount: Int { 72 }

        func write(to buffer: UnsafeMutableRawBufferPointer) {
            buffer.store(topic.raw, at: 0)
            buffer.store(publisher.raw, at: 32)
            buffer.storeBigEndian(sequence, at: 64)
        }
    }

    /// The `sequences` value: position ‖ event ID.
    struct SequenceValue: StoreRecord {
        let position: UInt64
        let id: EventID

        var byteCount: Int { 40 }

        func write(to buffer: UnsafeMutableRawBufferPointer) {
            buffer.storeBigEndian(position, at: 0)
            buffer.store(id.raw, at: 8)
        }
    }

    static func position(_ value: some RandomAccessCollection<UInt8>) throws(StoreError) -> UInt64 {
        guard value.count >= 8 else { throw StoreError(.corrupt, "an event index entry is \(value.count) bytes, too short") }
        return StoredEvent.bigEndian(Array(value.prefix(8)), at: 0)
    }

    /// Indexes an event stored at `position`: its `sequences` entry now, its ID entry in `changes`.
    static func add(_ event: SignedEvent, at position: UInt64, tables: BrokerStore.Tables, in transaction: LMDBTransaction,
                    changes: inout [EventIDIndex.Change]) throws(StoreError) {
        try transaction.putMostlyAppending(tables.sequences, SequenceKey(topic: event.event.topic, publisher: event.event.publisher,
                                                                         sequence: event.event.sequence),
                                           SequenceValue(position: position, id: event.id))
        changes.append(EventIDIndex.Change(topic: event.event.topic, prefix: EventIDIndex.prefix(event.id), position: position, added: true))
    }

    /// Unindexes a pruned event stored at `position`; its `sequences` entry goes only if it still
    /// names the event.
    static func remove(_ event: SignedEvent, at position: UInt64, tables: BrokerStore.Tables, in transaction: LMDBTransaction,
                       changes: inout [EventIDIndex.Change]) throws(StoreError) {
        let key = SequenceKey(topic: event.event.topic, publisher: event.event.publisher, sequence: event.event.sequence)
        if let value = try transaction.get(tables.sequences, key), value.count == 40, Bytes32(value[8...]) == event.id.raw {
            _ = try transaction.delete(tables.sequences, key)
        }
        changes.append(EventIDIndex.Change(topic: event.event.topic, prefix: EventIDIndex.prefix(event.id), position: position, added: false))
    }

    /// Indexes the ID of every event in `sequences`, for a store being opened; in slices, so that
    /// a large store is not listed twice in memory.
    static func buildIDIndex(_ ids: EventIDIndex, tables: BrokerStore.Tables, in transaction: LMDBTransaction) throws(StoreError) {
        var changes: [EventIDIndex.Change] = []
        var topic: TopicID?
        try transaction.scan(tables.sequences) { key, value throws(StoreError) in
            guard key.count == 72, value.count == 40 else {
                throw StoreError(.corrupt, "a sequences entry has a key of \(key.count) bytes and a value of \(value.count); 72 and 40 expected")
            }
            // Keys are sorted by topic: one TopicID per run.
            if topic == nil || !topic!.raw.elementsEqual(UnsafeRawBufferPointer(rebasing: key.prefix(32))) {
                topic = try BrokerStore.decode("a sequences key") { () throws(WireError) in
                    var reader = ByteReader(Array(key.prefix(32)))
                    return try reader.signingKey("topic")
                }
            }
            let prefix = EventIDIndex.prefix(ofIDBytes: UnsafeRawBufferPointer(rebasing: value[8...]))
            changes.append(EventIDIndex.Change(topic: topic!, prefix: prefix, position: try position(value), added: true))
            if changes.count == 65_536 {
                ids.apply(changes)
                changes.removeAll(keepingCapacity: true)
            }
            return true
        }
        ids.apply(changes)
    }
}

extension BrokerStore {
    // MARK: Reads by ID and by publisher (any thread)

    /// The stored event with `id` on `topic`, if still kept.
    public func event(topic: TopicID, id: EventID) throws(StoreError) -> SignedEvent? {
        let positions = ids.candidates(topic: topic, id: id)
        guard !positions.isEmpty else { return nil }
        return try environment.read { transaction throws(StoreError) in
            for position in positions {
                if let event = try storedEvent(topic: topic, position: position, in: transaction), event.id == id { return event }
            }
            return nil
        }
    }

    /// Whether an event with `id` on `topic` is kept (its body is hashed, not decoded).
    public func contains(topic: TopicID, id: EventID) throws(StoreError) -> Bool {
        let positions = ids.candidates(topic: topic, id: id)
        guard !positions.isEmpty else { return false }
        return try environment.read { transaction throws(StoreError) in
            for position in positions {
                guard let value = try transaction.get(tables.events, StoredEvent.Key(topic: topic, position: position)),
                      value.count > 16 else { continue }
                if value.withUnsafeBytes({ SignedEvent.id(ofEncoded: UnsafeRawBufferPointer(rebasing: $0[16...])) }) == id { return true }
            }
            return false
        }
    }

    /// The ID of `publisher`'s event with `sequence` on `topic`, if kept.
    public func eventID(topic: TopicID, publisher: SigningPublicKey, sequence: UInt64) throws(StoreError) -> EventID? {
        try environment.read { transaction throws(StoreError) in
            let key = EventIndex.SequenceKey(topic: topic, publisher: publisher, sequence: sequence)
            guard let value = try transaction.get(tables.sequences, key), value.count == 40 else { return nil }
            return try? EventID(Array(value[8...]))
        }
    }

    /// Kept events of `publisher` on `topic` with sequences `from`…`through`, ascending, at most `limit`.
    public func events(topic: TopicID, publisher: SigningPublicKey, from: UInt64, through: UInt64,
                       limit: Int) throws(StoreError) -> [SignedEvent] {
        guard from <= through, limit > 0 else { return [] }
        return try environment.read { transaction throws(StoreError) in
            var positions: [UInt64] = []
            let prefix = topic.bytes + publisher.bytes
            try transaction.scan(tables.sequences, from: EventIndex.SequenceKey(topic: topic, publisher: publisher, sequence: from)) {
                key, value throws(StoreError) in
                guard key.count == 72, key.starts(with: prefix), StoredEvent.bigEndian(key, at: 64) <= through else { return false }
                positions.append(try EventIndex.position(value))
                return positions.count < limit
            }
            var result: [SignedEvent] = []
            for position in positions {
                if let event = try storedEvent(topic: topic, position: position, in: transaction) { result.append(event) }
            }
            return result
        }
    }

    /// The lowest sequence of `publisher` still kept on `topic`.
    public func floor(topic: TopicID, publisher: SigningPublicKey) throws(StoreError) -> UInt64? {
        try environment.read { transaction throws(StoreError) in
            var floor: UInt64?
            let prefix = topic.bytes + publisher.bytes
            try transaction.scan(tables.sequences, from: prefix) { key, _ throws(StoreError) in
                if key.count == 72, key.starts(with: prefix) { floor = StoredEvent.bigEndian(key, at: 64) }
                return false
            }
            return floor
        }
    }

    private func storedEvent(topic: TopicID, position: UInt64, in transaction: LMDBTransaction) throws(StoreError) -> SignedEvent? {
        guard let value = try transaction.get(tables.events, StoredEvent.Key(topic: topic, position: position)) else { return nil }
        _ = try StoredEvent.header(value)
        do { return try SignedEvent.decode(Array(value[16...])) } catch {
            throw StoreError(.corrupt, "the stored event at position \(position) of topic \(topic.text) does not decode: \(error.message)")
        }
    }
}
