import Overlay
import Testing
import Wire

@Suite struct CausalDeliveryTests {
    let archive = MemoryArchive()

    private func released(_ arrival: CausalDelivery.Arrival) -> [SignedEvent] {
        guard case .accepted(let released) = arrival else { return [] }
        return released.map(\.event)
    }

    @Test func holdsAnEventUntilItsDependencyAndPreviousSequenceArrive() {
        let topic = newTopic()
        var alice = TestPublisher(topic: topic)
        var bob = TestPublisher(topic: topic)
        let a1 = alice.next()
        let b1 = bob.next(dependencies: [a1.id])
        let b2 = bob.next(dependencies: [b1.id])
        var causal = CausalDelivery()
        #expect(released(causal.receive(b2, from: nil, now: 0, repairDelay: 10, archive: archive)).isEmpty)
        #expect(released(causal.receive(b1, from: nil, now: 0, repairDelay: 10, archive: archive)).isEmpty)
        #expect(causal.heldCount == 2)
        #expect(released(causal.receive(a1, from: nil, now: 0, repairDelay: 10, archive: archive)) == [a1, b1, b2])
        #expect(causal.heldCount == 0)
        #expect(causal.receive(b1, from: nil, now: 0, repairDelay: 10, archive: archive) == .duplicate)
    }

    @Test func eventsTheStoreRefusedAreForgottenBackToTheLastKeptOne() {
        let topic = newTopic()
        var alice = TestPublisher(topic: topic)
        let (a1, a2, a3) = (alice.next(), alice.next(), alice.next())
        var causal = CausalDelivery()
        for event in [a1, a2, a3] { _ = causal.receive(event, from: nil, now: 0, repairDelay: 10, archive: archive) }
        archive.events.append(a1)  // the store kept a1; a2 and a3 failed in one commit
        causal.forget(a2, committed: 1, archive: archive)
        #expect(causal.head(topic: topic, publisher: alice.keys.publicKey) == .init(sequence: 1, id: a1.id))
        causal.forget(a3, committed: 1, archive: archive)  // already below it: stays
        #expect(causal.head(topic: topic, publisher: alice.keys.publicKey) == .init(sequence: 1, id: a1.id))
        #expect(!causal.isDelivered(topic: topic, id: a2.id, archive: archive))
        // Retries are taken again, in order.
        #expect(released(causal.receive(a2, from: nil, now: 0, repairDelay: 10, archive: archive)) == [a2])
        #expect(released(causal.receive(a3, from: nil, now: 0, repairDelay: 10, archive: archive)) == [a3])
        // An event at or below what the store kept is never taken back.
        causal.forget(a3, committed: 3, archive: archive)
        #expect(causal.head(topic: topic, publisher: alice.keys.publicKey)?.sequence == 3)
    }

    @Test func aHeadIsReadBackOnlyForItsOwnPublisherAndTopic() {
        let (first, second) = (newTopic(), newTopic())
        var alice = TestPublisher(topic: first)
        let bob = TestPublisher(topic: first)
        var causal = CausalDelivery()
        let a1 = alice.next()
        _ = causal.receive(a1, from: nil, now: 0, repairDelay: 10, archive: archive)  // the head written last
        #expect(causal.head(topic: first, publisher: alice.keys.publicKey) == .init(sequence: 1, id: a1.id))
        #expect(causal.head(topic: first, publisher: bob.keys.publicKey) == nil)
        #expect(causal.head(topic: second, publisher: alice.keys.publicKey) == nil)
        causal.setHead(topic: second, publisher: alice.keys.publicKey, .init(sequence: 7, id: nil))
        #expect(causal.head(topic: first, publisher: alice.keys.publicKey)?.sequence == 1)
        #expect(causal.head(topic: second, publisher: alice.keys.publicKey)?.sequence == 7)
        #expect(causal.heads(topic: first).map(\.sequence) == [1])
    }

    @Test func aDependencyAlreadyInTheArchiveCountsAsDelivered() {
        let topic = newTopic()
        var alice = TestPublisher(topic: topic)
        let old = alice.next()
        archive.events.append(old)
        var causal = CausalDelivery()
        causal.setHead(topic: topic, publisher: alice.keys.publicKey, .init(sequence: 1, id: old.id))
        var bob = TestPublisher(topic: topic)
        let reply = bob.next(dependencies: [old.id])
        #expect(released(causal.receive(reply, from: nil, now: 0, repairDelay: 10, archive: archive)) == [reply])
    }

    /// The publisher's head (its last delivered event) counts as delivered even when the broker
    /// no longer has it (pruned, and not among the recently delivered after a restart): the next
    /// event, which lists it, is delivered at once instead of waiting for repair requests.
    @Test func thePublishersHeadCountsAsDeliveredWithoutItsEvent() {
        let topic = newTopic()
        var alice = TestPublisher(topic: topic)
        let pruned = alice.next()
        let next = alice.next(dependencies: [pruned.id])
        var causal = CausalDelivery()
        causal.setHead(topic: topic, publisher: alice.keys.publicKey, .init(sequence: 1, id: pruned.id))
        #expect(!causal.isDelivered(topic: topic, id: pruned.id, archive: archive))
        #expect(released(causal.receive(next, from: nil, now: 0, repairDelay: 10, archive: archive)) == [next])
        #expect(causal.dueRepairs(now: 1_000, repairDelay: 10, maximumDelay: 10_000).repairs.isEmpty)
    }

    @Test func aGapIsRequestedAfterTheDelayFromTheSourceFirstThenWithBackOff() {
        let topic = newTopic()
        var alice = TestPublisher(topic: topic)
        let source = TestBroker().id
        _ = alice.next()
        _ = alice.next()
        let third = alice.next()
        var causal = CausalDelivery()
        _ = causal.receive(third, from: source, now: 1000, repairDelay: 50, archive: archive)
        #expect(causal.dueRepairs(now: 1049, repairDelay: 50, maximumDelay: 10_000).repairs.isEmpty, "not before the delay")
        let first = causal.dueRepairs(now: 1050, repairDelay: 50, maximumDelay: 10_000).repairs
        #expect(first == [.range(topic: topic, publisher: alice.keys.publicKey, from: 1, to: 2, source: source, attempt: 0)])
        #expect(causal.dueRepairs(now: 1099, repairDelay: 50, maximumDelay: 10_000).repairs.isEmpty, "the second waits twice the delay")
        #expect(causal.dueRepairs(now: 1150, repairDelay: 50, maximumDelay: 10_000).repairs.count == 1)
    }

    @Test func aRangeAPeerPrunedIsSkippedAndReported() {
        let topic = newTopic()
        var alice = TestPublisher(topic: topic)
        _ = alice.next()
        _ = alice.next()
        let third = alice.next()
        var causal = CausalDelivery()
        _ = causal.receive(third, from: nil, now: 0, repairDelay: 10, archive: archive)
        #expect(causal.rangeMissing(topic: topic, publisher: alice.keys.publicKey, from: 1, to: 2, pruned: false).isEmpty,
                "not received yet is no reason to skip")
        let after = causal.rangeMissing(topic: topic, publisher: alice.keys.publicKey, from: 1, to: 2, pruned: true)
        #expect(after.map(\.event) == [third])
        #expect(causal.takeNotices() == [.skipped(topic: topic, publisher: alice.keys.publicKey, from: 1, to: 2)])
    }

    @Test func twoEventsSignedWithOneSequenceAreEquivocation() {
        let topic = newTopic()
        var alice = TestPublisher(topic: topic)
        let honest = alice.next(payload: 1)
        alice.sequence = 0
        let forged = alice.next(payload: 2)
        var causal = CausalDelivery()
        _ = causal.receive(honest, from: nil, now: 0, repairDelay: 10, archive: archive)
        #expect(causal.receive(forged, from: nil, now: 0, repairDelay: 10, archive: archive) == .equivocation(existing: honest.id))
        // Also while the first is still held.
        var later = TestPublisher(topic: topic)
        _ = later.next()
        let held = later.next(payload: 1)
        later.sequence = 1
        let twin = later.next(payload: 2)
        _ = causal.receive(held, from: nil, now: 0, repairDelay: 10, archive: archive)
        #expect(causal.receive(twin, from: nil, now: 0, repairDelay: 10, archive: archive) == .equivocation(existing: held.id))
    }

    @Test func aDependencyTheSourceLacksIsUnavailableEverywhere() {
        let topic = newTopic()
        var alice = TestPublisher(topic: topic)
        var bob = TestPublisher(topic: topic)
        let lost = alice.next()
        let reply = bob.next(dependencies: [lost.id])
        let source = TestBroker().id
        let bystander = TestBroker().id
        var causal = CausalDelivery()
        _ = causal.receive(reply, from: source, now: 0, repairDelay: 10, archive: archive)
        #expect(causal.dueRepairs(now: 10, repairDelay: 10, maximumDelay: 100).repairs == [.id(topic: topic, id: lost.id, source: source, attempt: 0)])
        #expect(causal.idsMissing([lost.id], reportedBy: bystander).isEmpty, "another peer lacking it proves nothing")
        #expect(causal.idsMissing([lost.id], reportedBy: source).map(\.event) == [reply])
        #expect(causal.takeNotices() == [.dependencyUnavailable(topic: topic, id: lost.id)])
    }

    @Test func eventsWaitingForADependencyGivenUpAfterTheLastAttemptAreDelivered() {
        let topic = newTopic()
        var alice = TestPublisher(topic: topic)
        var bob = TestPublisher(topic: topic)
        let lost = alice.next()
        let reply = bob.next(dependencies: [lost.id])
        var causal = CausalDelivery(dependencyAttempts: 2)
        _ = causal.receive(reply, from: nil, now: 0, repairDelay: 10, archive: archive)
        var now: UInt64 = 0
        var released: [SignedEvent] = []
        var requests = 0
        while released.isEmpty && now < 1_000 {
            now += 10
            let due = causal.dueRepairs(now: now, repairDelay: 10, maximumDelay: 100)
            requests += due.repairs.count
            released = due.released.map(\.event)
        }
        #expect(requests == 2)
        #expect(released == [reply])
        #expect(causal.heldCount == 0)
        #expect(causal.takeNotices() == [.dependencyUnavailable(topic: topic, id: lost.id)])
    }

    @Test func aFullBufferRefusesRatherThanGrows() {
        let topic = newTopic()
        var alice = TestPublisher(topic: topic)
        _ = alice.next()
        var causal = CausalDelivery(maximumHeld: 2)
        _ = causal.receive(alice.next(), from: nil, now: 0, repairDelay: 10, archive: archive)
        _ = causal.receive(alice.next(), from: nil, now: 0, repairDelay: 10, archive: archive)
        #expect(causal.receive(alice.next(), from: nil, now: 0, repairDelay: 10, archive: archive) == .overflow)
        #expect(causal.heldCount == 2)
        // An event that is next in order and waits for nothing is never held, so it is still taken.
        var bob = TestPublisher(topic: topic)
        let first = bob.next()
        #expect(released(causal.receive(first, from: nil, now: 0, repairDelay: 10, archive: archive)) == [first])
        #expect(causal.heldCount == 2)
    }
}
