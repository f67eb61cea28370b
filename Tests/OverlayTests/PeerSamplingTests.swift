import Overlay
import Testing
import Wire

@Suite struct PeerSamplingTests {
    @Test func aShuffleTakesTheOldestPeerOutAndOffersAFreshEntryOfOurs() {
        let me = TestBroker()
        var sampling = PeerSampling(me: me.id, capacity: 4, shuffleLength: 3)
        let peers = (0..<4).map { _ in TestBroker() }
        for peer in peers { sampling.add(peer.profile) }
        var random = SeededRandom(seed: 1)
        let first = sampling.startShuffle(me: me.entry, random: &random)!
        #expect(!sampling.contains(first.target), "the target leaves the view until it answers")
        #expect(first.entries.first?.broker == me.id && first.entries.first?.age == 0)
        #expect(first.entries.count == 3 && !first.entries.contains { $0.broker == first.target })
        // The remaining entries aged once; the next target is the oldest of them.
        let second = sampling.startShuffle(me: me.entry, random: &random)!
        #expect(second.target != first.target)
    }

    @Test func answersFillEmptySlotsThenReplaceWhatWasSentAndNeverHoldOurselves() {
        let me = TestBroker()
        var sampling = PeerSampling(me: me.id, capacity: 3, shuffleLength: 2)
        let held = (0..<3).map { _ in TestBroker() }
        for peer in held { sampling.add(peer.profile) }
        var random = SeededRandom(seed: 2)
        let (target, sent) = sampling.startShuffle(me: me.entry, random: &random)!
        let offered = sent.dropFirst().map(\.broker)
        let newcomers = (0..<3).map { _ in TestBroker() }
        sampling.finishShuffle(from: target, entries: [me.entry] + newcomers.map(\.entry))
        #expect(sampling.view.count == 3)
        #expect(!sampling.contains(me.id))
        // One empty slot (the target's) and one sent entry's slot took newcomers.
        #expect(newcomers.filter { sampling.contains($0.id) }.count == 2)
        #expect(offered.allSatisfy { !sampling.contains($0) })
    }

    @Test func aNewerProfileReplacesAnOlderOne() {
        let me = TestBroker()
        var sampling = PeerSampling(me: me.id, capacity: 4, shuffleLength: 2)
        let keysOld = TestBroker(issued: 1)
        sampling.add(keysOld.profile)
        let newer = BrokerProfile(broker: keysOld.id, issued: 5, address: "127.0.0.1:2", topics: BloomFilter(bitCountLog2: 8))
            .signed(by: keysOld.keys)
        sampling.add(newer)
        #expect(sampling.view.count == 1 && sampling.view[0].profile.profile.address == "127.0.0.1:2")
    }
}
