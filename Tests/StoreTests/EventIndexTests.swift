import Sodium
@testable import Store
import Testing
import Wire

/// The indexes the overlay reads: by event ID (in memory), by publisher and sequence, and the floor after pruning.
@Suite struct EventIndexTests {
    @Test func findsEventsByIDAndBySequenceUntilTheyArePruned() throws {
        var options = BrokerStore.Options()
        options.retention = Retention(maximumEvents: 5, maximumBytes: 0, maximumAgeSeconds: 0)
        let fixture = try StoreFixture(options: options)
        let publisher = Publisher()
        fixture.commit([.putDescriptor(publisher.descriptor(), ticket: fixture.ticket())])
        let events = (1...8).map { publisher.event(UInt64($0)) }
        fixture.append(Array(events[..<3]))
        let store = fixture.store!
        let author = publisher.identity.publicKey

        #expect(try store.event(topic: publisher.topic, id: events[1].id) == events[1])
        #expect(try store.contains(topic: publisher.topic, id: events[2].id))
        #expect(try !store.contains(topic: publisher.topic, id: events[3].id))
        #expect(try !store.contains(topic: SigningKeyPair().publicKey, id: events[0].id))
        #expect(try store.eventID(topic: publisher.topic, publisher: author, sequence: 2) == events[1].id)
        #expect(try store.events(topic: publisher.topic, publisher: author, from: 2, through: 9, limit: 10) == Array(events[1..<3]))
        #expect(try store.events(topic: publisher.topic, publisher: author, from: 1, through: 3, limit: 2) == Array(events[0..<2]))
        #expect(try store.floor(topic: publisher.topic, publisher: author) == 1)
        #expect(try store.floor(topic: publisher.topic, publisher: SigningKeyPair().publicKey) == nil)

        // Retention keeps 5 of 8: the pruned three leave both indexes.
        fixture.append(Array(events[3...]))
        #expect(try store.floor(topic: publisher.topic, publisher: author) == 4)
        #expect(try store.event(topic: publisher.topic, id: events[0].id) == nil)
        #expect(try store.eventID(topic: publisher.topic, publisher: author, sequence: 3) == nil)
        #expect(try store.events(topic: publisher.topic, publisher: author, from: 1, through: 8, limit: 100) == Array(events[3...]))

        try fixture.reopen(options: options)
        #expect(try fixture.store.event(topic: publisher.topic, id: events[7].id) == events[7])
    }

    @Test func migratesASchemaOneStoreByIndexingItsEvents() throws {
        let fixture = try StoreFixture()
        let (publisher, events) = fixture.topicHoldingEvents(4)
        // Turn it back into what schema 1 wrote: no indexes, version 1.
        try fixture.store.environment.write { transaction throws(StoreError) in
            var unused: [EventIDIndex.Change] = []
            for (position, event) in events.enumerated() {
                try EventIndex.remove(event, at: UInt64(position + 1), tables: fixture.store.tables, in: transaction, changes: &unused)
            }
            try transaction.put(fixture.store.tables.meta, Array("schema".utf8), [0, 0, 0, 1])
        }
        #expect(try fixture.store.eventID(topic: publisher.topic, publisher: publisher.identity.publicKey, sequence: 4) == nil)

        try fixture.reopen()
        #expect(try fixture.store.event(topic: publisher.topic, id: events[0].id) == events[0])
        #expect(try fixture.store.eventID(topic: publisher.topic, publisher: publisher.identity.publicKey, sequence: 4) == events[3].id)
    }

    @Test func migratesASchemaTwoStoreByDroppingItsIDDatabase() throws {
        let fixture = try StoreFixture()
        let (publisher, events) = fixture.topicHoldingEvents(3)
        // Schema 2 kept an `ids` database beside `sequences`.
        let oldIDs = try fixture.store.environment.openDatabase("ids")
        try fixture.store.environment.write { transaction throws(StoreError) in
            try transaction.put(oldIDs, publisher.topic.bytes + events[0].id.bytes, [0, 0, 0, 0, 0, 0, 0, 1])
            try transaction.put(fixture.store.tables.meta, Array("schema".utf8), [0, 0, 0, 2])
        }

        try fixture.reopen()
        #expect(try fixture.store.event(topic: publisher.topic, id: events[2].id) == events[2])
        let (names, schema) = try fixture.store.environment.read { transaction throws(StoreError) in
            var names: [String] = []
            try transaction.scan(LMDBDatabase(handle: 1)) { key, _ in  // the main database lists the named ones
                names.append(String(decoding: key, as: UTF8.self))
                return true
            }
            return (names, try transaction.get(fixture.store.tables.meta, Array("schema".utf8)))
        }
        #expect(!names.contains("ids"))
        #expect(names.contains("sequences"))
        #expect(schema == [0, 0, 0, 3])
    }

    /// IDs are indexed by their first 8 bytes; two stored events sharing them are both found, and
    /// an ID that only shares the prefix with a stored one is not.
    @Test func idsSharingAPrefixAreToldApart() throws {
        let fixture = try StoreFixture()
        let (publisher, events) = fixture.topicHoldingEvents(3)
        let store = fixture.store!
        // Index events 1 and 3 a second time under event 2's prefix, as a collision would.
        let prefix = EventIDIndex.prefix(events[1].id)
        store.ids.apply([EventIDIndex.Change(topic: publisher.topic, prefix: prefix, position: 1, added: true),
                         EventIDIndex.Change(topic: publisher.topic, prefix: prefix, position: 3, added: true)])
        #expect(store.ids.candidates(topic: publisher.topic, id: events[1].id) == [2, 1, 3])
        #expect(try store.event(topic: publisher.topic, id: events[1].id) == events[1])
        var lookalike = events[1].id.bytes
        lookalike[31] ^= 1
        #expect(try !store.contains(topic: publisher.topic, id: EventID(lookalike)))

        store.ids.apply([EventIDIndex.Change(topic: publisher.topic, prefix: prefix, position: 2, added: false)])
        #expect(store.ids.candidates(topic: publisher.topic, id: events[1].id) == [1, 3])
        #expect(try !store.contains(topic: publisher.topic, id: events[1].id))
        store.ids.apply([EventIDIndex.Change(topic: publisher.topic, prefix: prefix, position: 3, added: false),
                         EventIDIndex.Change(topic: publisher.topic, prefix: prefix, position: 1, added: false)])
        #expect(store.ids.candidates(topic: publisher.topic, id: events[1].id).isEmpty)
        #expect(try store.contains(topic: publisher.topic, id: events[0].id))
    }

    @Test func refusesToOpenAStoreWithAMalformedSequencesEntry() throws {
        let fixture = try StoreFixture()
        let publisher = Publisher()
        fixture.commit([.putDescriptor(publisher.descriptor(), ticket: fixture.ticket())])
        fixture.append([publisher.event(1)])
        let key = EventIndex.SequenceKey(topic: publisher.topic, publisher: publisher.identity.publicKey, sequence: 1)
        try fixture.store.environment.write { transaction throws(StoreError) in
            try transaction.put(fixture.store.tables.sequences, key, [0, 0, 0, 0, 0, 0, 0, 1])  // position only, no ID
        }
        fixture.store.close()
        #expect { try fixture.open() } throws: { error in
            "\(error)".contains("a sequences entry has a key of 72 bytes and a value of 8; 72 and 40 expected")
        }
    }

    @Test func refusesAStoreFromAFutureSchema() throws {
        let fixture = try StoreFixture()
        try fixture.store.environment.write { transaction throws(StoreError) in
            try transaction.put(fixture.store.tables.meta, Array("schema".utf8), [0, 0, 0, 9])
        }
        fixture.store.close()
        #expect { try fixture.open() } throws: { error in
            "\(error)".contains("has schema 9; this polderd reads schemas 1 to 3")
        }
    }

    @Test func remembersPeersAndReplacesThem() throws {
        let fixture = try StoreFixture()
        let first = SigningKeyPair(), second = SigningKeyPair()
        func profile(_ keys: SigningKeyPair) -> SignedBrokerProfile {
            BrokerProfile(broker: keys.publicKey, issued: 1, address: "127.0.0.1:1", topics: BrokerProfile.topicFilter([])).signed(by: keys)
        }
        fixture.commit([.rememberPeers([profile(first), profile(second)])])
        try fixture.reopen()
        #expect(Set(fixture.contents.peers.map(\.broker)) == [first.publicKey, second.publicKey])
        fixture.commit([.rememberPeers([profile(second)])])
        try fixture.reopen()
        #expect(fixture.contents.peers.map(\.broker) == [second.publicKey])
    }
}
