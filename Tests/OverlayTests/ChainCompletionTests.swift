import Sodium
import Testing
import Wire
@testable import Overlay

/// Answers to peers never end inside a chain (protocol/README.md, §6.4 and §14.1).
@Suite struct ChainCompletionTests {
    @Test func aChainedEventIsSentWithItsSuccessorsUpToTheSignedEnd() throws {
        let (chain, archive) = try longChain()  // 257th and 262nd signed
        #expect(archive.completingChains([chain[0]]).map(\.event.sequence) == Array(1...257))  // the longest run
        #expect(archive.completingChains([chain[2]]).map(\.event.sequence) == Array(3...257))
        #expect(archive.completingChains([chain[258], chain[259]]).map(\.event.sequence) == [259, 260, 261, 262])
        #expect(archive.completingChains([chain[256]]).map(\.event.sequence) == [257])  // signed: alone
        archive.events = Array(chain.prefix(10))  // the end is not kept: what there is goes
        #expect(archive.completingChains([chain[7]]).map(\.event.sequence) == [8, 9, 10])
        archive.events = Array(chain[..<5] + chain[7..<10])  // a gap: nothing behind it can vouch
        #expect(archive.completingChains([chain[2]]).map(\.event.sequence) == [3, 4, 5])
    }

    /// A peer that holds every other event of a long chain (as its Bloom filter tells a sync) is
    /// sent each missing event once, and the answer reads about as many events as it sends, not a
    /// chain's length for each of them.
    @Test func overlappingTailsSendEachEventOnceAndReadLittle() throws {
        let (chain, archive) = try longChain()
        let wanted = stride(from: 0, to: 257, by: 2).map { chain[$0] }  // sequences 1, 3, …, 257
        let answer = archive.completingChains(wanted)
        #expect(answer.count == 257)
        #expect(Set(answer.map(\.event.sequence)) == Set(1...257))
        #expect(archive.eventsRead <= 2 * 257, "\(archive.eventsRead) events read for an answer of 257")

        archive.eventsRead = 0
        let later = archive.completingChains([chain[5], chain[2]])  // asked out of order: answered in order, once
        #expect(later.map(\.event.sequence) == Array(3...257))
        #expect(archive.eventsRead <= 255 + 16)
    }

    /// 262 events of one publisher chained as `makeChain` would: the 257th and the 262nd signed.
    private func longChain() throws -> ([SignedEvent], MemoryArchive) {
        let topic = newTopic(), keys = SigningKeyPair()
        var events: [Event] = []
        for sequence in 1...262 {
            events.append(Event(topic: topic, publisher: keys.publicKey, sequence: UInt64(sequence),
                                dependencies: events.last.map { [$0.id] } ?? [], time: 0, epoch: 1, payload: [UInt8(sequence % 256)]))
        }
        let chain = try SignedEvent.chain(events, signedBy: keys)
        let archive = MemoryArchive()
        archive.events = chain
        return (chain, archive)
    }
}
