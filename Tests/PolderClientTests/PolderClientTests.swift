import Platform
import PolderClient
import Sodium
import Testing
import Wire

@Suite struct TopicKeysTests {
    let directory = "/tmp/polder-client-tests-\(Random.uint64())"

    @Test func keysSurviveASaveAndLoad() throws {
        let owner = SigningKeyPair()
        let (descriptor, keys) = try NewTopic.make(name: "n", owner: owner, openPublishing: false, publishers: [], readers: [])
        var saved = keys
        saved.lastPublished = PublisherHead(sequence: 7, eventID: try EventID([UInt8](repeating: 3, count: 32)))
        try saved.save(to: directory)
        let loaded = try TopicKeys.load(from: directory, topic: descriptor.descriptor.topic)
        #expect(loaded.topicKey?.publicKey == descriptor.descriptor.topic)
        #expect(loaded.epochSecrets[1]?.secret.isEqual(to: keys.epochSecrets[1]!.secret) == true)
        #expect(loaded.lastPublished == saved.lastPublished)
        #expect(try TopicKeys.load(from: directory, topic: SigningKeyPair().publicKey).epochSecrets.isEmpty)
    }

    @Test func corruptOrForeignKeyFilesAreRefused() throws {
        let topic = SigningKeyPair().publicKey
        let path = TopicKeys.path(in: directory, topic: topic)
        try FileSystem.createDirectory(FileSystem.directoryName(path))
        try FileSystem.writeAtomically(Array("garbage\n".utf8), to: path)
        #expect(throws: ClientError.self) { try TopicKeys.load(from: directory, topic: topic) }
        // A topic key that belongs to another topic.
        let other = SigningKeyPair()
        try FileSystem.writeAtomically(Array("polder-topic-keys-v1\ntopic-key \(Hex.encode(other.seed.unprotectedCopy))\n".utf8), to: path)
        #expect(throws: ClientError.self) { try TopicKeys.load(from: directory, topic: topic) }
    }
}

@Suite struct TopicAccessTests {
    let owner = SigningKeyPair(), reader = SigningKeyPair(), outsider = SigningKeyPair()

    @Test func readersDecryptOutsidersCannot() throws {
        let (signed, keys) = try NewTopic.make(name: "n", owner: owner, openPublishing: false, publishers: [], readers: [reader.publicKey])
        let descriptor = signed.descriptor
        let ownerAccess = TopicAccess(descriptor: descriptor, identity: owner, keys: keys)
        let event = try ownerAccess.makeEvent(Array("secret".utf8), sequence: 1, dependencies: [], time: 1)
        let readerAccess = TopicAccess(descriptor: descriptor, identity: reader, keys: TopicKeys(topic: descriptor.topic))
        #expect(readerAccess.isReader && !readerAccess.mayPublish)
        #expect(try readerAccess.decrypt(event) == Array("secret".utf8))
        let outsiderAccess = TopicAccess(descriptor: descriptor, identity: outsider, keys: TopicKeys(topic: descriptor.topic))
        #expect(!outsiderAccess.isReader)
        #expect(throws: ClientError.self) { try outsiderAccess.decrypt(event) }
    }

    @Test func creatorIsOwnerPublisherAndReader() throws {
        let (signed, _) = try NewTopic.make(name: "n", owner: owner, openPublishing: false, publishers: [outsider.publicKey], readers: [])
        let descriptor = signed.descriptor
        #expect(descriptor.owners == [owner.publicKey])
        #expect(descriptor.allowsPublisher(owner.publicKey) && descriptor.allowsPublisher(outsider.publicKey))
        #expect(descriptor.readerKey(for: owner.publicKey) != nil)
        #expect(descriptor.readerKey(for: outsider.publicKey) == nil)
        try signed.verifySignature()
    }

    @Test func oversizedMessagesAndNamesAreRefused() throws {
        #expect(throws: ClientError.self) {
            try NewTopic.make(name: String(repeating: "n", count: 300), owner: owner, openPublishing: true, publishers: [], readers: [])
        }
        let (signed, keys) = try NewTopic.make(name: "n", owner: owner, openPublishing: false, publishers: [], readers: [])
        let access = TopicAccess(descriptor: signed.descriptor, identity: owner, keys: keys)
        #expect(throws: ClientError.self) { try access.makeEvent([UInt8](repeating: 1, count: 70_000), sequence: 1, dependencies: [], time: 1) }
    }
}
