import Sodium
import Testing
import Wire
@testable import Overlay

/// Answers to peers never end inside a chain (protocol/README.md, §6.4 and §14.1).
@Suite struct ChainCompletionTests {
    @Test func aChainedEventIsSentWithItsSuccessorsUpToTheSignedEnd() throws {
        let topic = newTopic(), keys = SigningKeyPair()
        var events: [Event] = []
        for sequence in 1...262 {
            events.append(Event(topic: topic, publisher: keys.publicKey, sequence: UInt64(sequence),
                                dependencies: events.last.map { [$0.id] } ?? [], time: 0, epoch: 1, payload: [UInt8(sequence % 256)]))
        }
        let chain = try SignedEvent.chain(events, signedBy: keys)  // 257th and 262nd signed
        let archive = MemoryArchive()
        archive.events = chain
        #expect(archive.completingChains([chain[0]]).map(\.event.sequence) == Array(1...257))  // the longest run
        #expect(archive.completingChains([chain[2]]).map(\.event.sequence) == Array(3...257))
        #expect(archive.completingChains([chain[258], chain[259]]).map(\.event.sequence) == [259, 260, 261, 262])
        #expect(archive.completingChains([chain[256]]).map(\.event.sequence) == [257])  // signed: alone
        archive.events = Array(chain.prefix(10))  // the end is not kept: what there is goes
        #expect(archive.completingChains([chain[7]]).map(\.event.sequence) == [8, 9, 10])
    }
}
