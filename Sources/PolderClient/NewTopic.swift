import Sodium
import Wire

/// Creates a topic: a fresh topic key pair and first epoch, with `owner` as owner, publisher and
/// reader. Returns the signed descriptor to put on a broker and the keys the owner keeps.
public enum NewTopic {
    public static func make(name: String, owner: SigningKeyPair, openPublishing: Bool, publishers: [SigningPublicKey],
                            readers: [SigningPublicKey], retention: Retention = Retention()) throws(ClientError) -> (SignedTopicDescriptor, TopicKeys) {
        guard Array(name.utf8).count <= Limits.maximumTopicNameLength else {
            throw ClientError(.protocolViolation, "a topic name is at most \(Limits.maximumTopicNameLength) bytes")
        }
        let allReaders = Set(readers + [owner.publicKey])
        guard allReaders.count <= Limits.maximumDescriptorMembers, Set(publishers + [owner.publicKey]).count <= Limits.maximumDescriptorMembers else {
            throw ClientError(.protocolViolation, "a topic has at most \(Limits.maximumDescriptorMembers) readers and publishers")
        }
        let topicKey = SigningKeyPair()
        let secret = EpochSecret()
        var readerKeys: [ReaderKey] = []
        for reader in allReaders {
            do { readerKeys.append(try secret.sealed(to: reader)) } catch {
                throw ClientError(.protocolViolation, "cannot seal the topic key to reader \(reader.text): \(error)")
            }
        }
        let descriptor = TopicDescriptor(
            topic: topicKey.publicKey, revision: 1, name: name, owners: [owner.publicKey], openPublishing: openPublishing,
            publishers: publishers + [owner.publicKey], epoch: 1, epochPublicKey: secret.keyPair.publicKey,
            readers: readerKeys, retention: retention)
        var keys = TopicKeys(topic: topicKey.publicKey)
        keys.topicKey = topicKey
        keys.epochSecrets[1] = secret
        return (descriptor.signed(by: topicKey), keys)
    }
}
