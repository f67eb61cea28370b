import Sodium
@testable import Store
import Testing
import Wire

/// The indexes the overlay reads: by event ID, by publisher and sequence, and the floor after pruning.
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
        let publisher = Publisher()
        fixture.commit([.putDescriptor(publisher.descriptor(), ticket: fixture.ticket())])
        let events = (1...4).map { publisher.event(UInt64($0)) }
        fixture.append(events)
        // Turn it back into what schema 1 wrote: no indexes, version 1.
        try fixture.store.environment.write { transaction throws(StoreError) in
            for event in events {
                try EventIndex.remove(event, tables: fixture.store.tables, in: transaction)
            }
            try transaction.put(fixture.store.tables.meta, Array("schema".utf8), [0, 0, 0, 1])
        }
        #expect(try fixture.store.event(topic: publisher.topic, id: events[0].id) == nil)

        try fixture.reopen()
        #expect(try fixture.store.event(topic: publisher.topic, id: events[0].id) == events[0])
        #expect(try fixture.store.eventID(topic: publisher.topic, publisher: publisher.identity.publicKey, sequence: 4) == events[3].id)
    }

    @Test func refusesAStoreFromAFutureSchema() throws {
        let fixture = try StoreFixture()
        try fixture.store.environment.write { transaction throws(StoreError) in
            try transaction.put(fixture.store.tables.meta, Array("schema".utf8), [0, 0, 0, 9])
        }
        fixture.store.close()
        #expect { try fixture.open() } throws: { error in
            "\(error)".contains("has schema 9; this polderd reads schemas 1 and 2")
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
