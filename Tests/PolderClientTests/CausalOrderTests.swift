@testable import PolderClient
import Sodium
import Testing
import Wire

/// The client's own causal check on what a broker delivers.
@Suite struct CausalOrderTests {
    let topic = SigningKeyPair().publicKey

    func events(by publisher: SigningKeyPair, _ count: Int, after previous: SignedEvent? = nil) -> [SignedEvent] {
        var result: [SignedEvent] = []
        var last = previous
        for index in 0..<count {
            let event = Event(topic: topic, publisher: publisher.publicKey, sequence: (last?.event.sequence ?? 0) + 1,
                              dependencies: last.map { [$0.id] } ?? [], time: UInt64(index), epoch: 0, payload: []).signed(by: publisher)
            result.append(event)
            last = event
        }
        return result
    }

    func sequences(_ released: [CausalOrder.Positioned]) -> [UInt64] { released.map(\.event.event.sequence) }

    @Test func inOrderEventsPassAtOnceAndTheFirstOfAPublisherNeedNotBeOne() {
        var order = CausalOrder()
        let alice = events(by: SigningKeyPair(), 5)
        #expect(sequences(order.take(alice[2], position: 1)) == [3])  // joined mid-stream
        #expect(sequences(order.take(alice[3], position: 2)) == [4])
        #expect(order.take(alice[1], position: 3).isEmpty)  // goes back in time: dropped
        #expect(order.heldCount == 0)
    }

    @Test func aSequenceGapHoldsUntilItFills() {
        var order = CausalOrder()
        let alice = events(by: SigningKeyPair(), 4)
        _ = order.take(alice[0], position: 1)
        #expect(order.take(alice[2], position: 2).isEmpty)
        #expect(order.take(alice[3], position: 3).isEmpty)
        #expect(sequences(order.take(alice[1], position: 4)) == [2, 3, 4])
    }

    @Test func aDependencyStillWaitingComesFirst() {
        var order = CausalOrder()
        let aliceKeys = SigningKeyPair()
        let alice = events(by: aliceKeys, 3)
        let bob = SigningKeyPair()
        let reply = Event(topic: topic, publisher: bob.publicKey, sequence: 1, dependencies: [alice[2].id], time: 0, epoch: 0,
                          payload: []).signed(by: bob)
        _ = order.take(alice[0], position: 1)
        #expect(order.take(alice[2], position: 2).isEmpty)  // waits for alice 2
        #expect(order.take(reply, position: 3).isEmpty)  // waits for alice 3, which waits
        let released = order.take(alice[1], position: 4)
        #expect(released.map(\.event.id) == [alice[1].id, alice[2].id, reply.id])
    }

    @Test func aDroppedNoticeOrTooManyWaitingLetsGoInSequenceOrder() {
        var order = CausalOrder(maximumHeld: 3)
        let alice = events(by: SigningKeyPair(), 10)
        _ = order.take(alice[0], position: 1)
        #expect(order.take(alice[3], position: 2).isEmpty)
        #expect(order.take(alice[2], position: 3).isEmpty)
        #expect(sequences(order.letGo()) == [3, 4])  // the broker dropped 2
        #expect(sequences(order.take(alice[4], position: 4)) == [5])
        // Overflow: four waiting behind a gap that never fills.
        for (index, event) in alice[6...8].enumerated() { #expect(order.take(event, position: 5 + UInt64(index)).isEmpty) }
        #expect(sequences(order.take(alice[9], position: 9)) == [7, 8, 9, 10])
    }
}
