import Sodium
import Testing
import Wire

/// Chains (§6.4) and the queue receivers keep until events are authentic.
@Suite struct AuthenticationQueueTests {
    let alice = SigningKeyPair(), mallory = SigningKeyPair()
    let topic = SigningKeyPair().publicKey

    /// `count` consecutive events of `publisher` from `first`, each listing the one before.
    func events(_ count: Int, from first: UInt64 = 1, by publisher: SigningKeyPair? = nil) -> [Event] {
        var events: [Event] = []
        for offset in 0..<count {
            events.append(Event(topic: topic, publisher: (publisher ?? alice).publicKey, sequence: first + UInt64(offset),
                                dependencies: events.last.map { [$0.id] } ?? [], time: 1, epoch: 1, payload: [UInt8(offset % 256)]))
        }
        return events
    }

    /// The ticket of an append that must have one (a signed event).
    func ticket(_ ticket: UInt64?) throws -> UInt64 { try #require(ticket) }

    /// Appends every event, checks signatures at once, and returns what comes off the front, in order.
    func drain(_ queue: inout AuthenticationQueue<Int>, _ events: [SignedEvent]) -> (ready: [Int], forged: [Int]) {
        for (index, event) in events.enumerated() {
            if let ticket = queue.append(index, event: event) {
                queue.checked(ticket, Result { () throws(WireError) in try event.verifySignature() })
            }
        }
        var ready: [Int] = [], forged: [Int] = []
        loop: while true {
            switch queue.front {
            case .ready(let index): ready.append(index)
            case .forged(let index, _): forged.append(index)
            case .waiting, .empty: break loop
            }
            queue.removeFront()
        }
        return (ready, forged)
    }

    @Test func aChainOfSmallEventsSignsEvery257thEventAndTheLast() throws {
        let chain = try SignedEvent.chain(events(600), signedBy: alice)
        let signed = chain.indices.filter { !chain[$0].isChained }
        #expect(signed == [256, 513, 599])
        #expect(chain.map(\.id) == events(600).map(\.id))  // the ID does not depend on the signature
        for index in signed { try chain[index].verifySignature() }
        for index in 1..<chain.count { #expect(chain[index].vouches(for: chain[index - 1])) }
    }

    @Test func aChainOfLargeEventsIsSignedBeforeItsChainedBytesPassTheLimit() throws {
        var large = events(60)
        for index in large.indices {
            large[index].payload = [UInt8](repeating: 7, count: 10_000)[...]
            if index > 0 { large[index].dependencies = [large[index - 1].id] }
        }
        let chain = try SignedEvent.chain(large, signedBy: alice)
        var runBytes = 0
        for event in chain {
            if event.isChained {
                runBytes += event.encoded.count
                #expect(runBytes <= Limits.maximumChainBytes)
            } else {
                // Signed only because the last, or because chaining it would have passed the limit.
                #expect(event.id == chain.last!.id || runBytes + event.encoded.count > Limits.maximumChainBytes)
                runBytes = 0
            }
        }
        #expect(chain.filter { !$0.isChained }.count == 3)  // 26 events of about 10 KB make a run
    }

    @Test func aChainMustFollowOnAndBeSignedByItsPublisher() {
        var broken = events(3)
        broken[2].dependencies = []
        #expect(throws: WireError.self) { try SignedEvent.chain(broken, signedBy: alice) }
        #expect(throws: WireError.self) { try SignedEvent.chain(events(3), signedBy: mallory) }
    }

    @Test func chainedEventsWaitForTheirSignedSuccessorThenLeaveInOrder() throws {
        let chain = try SignedEvent.chain(events(5), signedBy: alice)
        var queue = AuthenticationQueue<Int>(voucherCapacity: 0)
        #expect(drain(&queue, Array(chain.prefix(4))).ready.isEmpty)
        #expect(queue.count == 4)
        // The tickets of earlier appends were none (chained); the closer's check settles all five.
        let ticket = try ticket(queue.append(4, event: chain[4]))
        queue.checked(ticket, .success(()))
        var order: [Int] = []
        while case .ready(let index) = queue.front { order.append(index); queue.removeFront() }
        #expect(order == [0, 1, 2, 3, 4])
        #expect(queue.isEmpty)
    }

    @Test func aForgedCloserMakesItsChainForged() throws {
        let chain = try SignedEvent.chain(events(3), signedBy: alice)
        var queue = AuthenticationQueue<Int>(voucherCapacity: 0)
        _ = queue.append(0, event: chain[0])
        _ = queue.append(1, event: chain[1])
        let ticket = try ticket(queue.append(2, event: chain[2]))
        queue.checked(ticket, .failure(WireError(.badSignature, "forged")))  // as if the signature were bad
        for _ in 0..<3 {
            guard case .forged = queue.front else { Issue.record("a chained event of a forged chain is not forged"); return }
            queue.removeFront()
        }
        #expect(queue.isEmpty)
    }

    @Test func anotherPublishersEventDoesNotVouch() throws {
        let chained = try SignedEvent.chain(events(2), signedBy: alice)[0]
        // Mallory signs an event that names Alice's chained event as a dependency.
        let claim = Event(topic: topic, publisher: mallory.publicKey, sequence: 2, dependencies: [chained.id], time: 1, epoch: 1,
                          payload: []).signed(by: mallory)
        #expect(!claim.vouches(for: chained))
        var queue = AuthenticationQueue<Int>(voucherCapacity: 16)
        let result = drain(&queue, [chained, claim])
        #expect(result.ready.isEmpty)
        #expect(queue.count == 2)
    }

    @Test func aSuccessorThatOvertookItsPredecessorIsRemembered() throws {
        let chain = try SignedEvent.chain(events(3), signedBy: alice)
        var queue = AuthenticationQueue<Int>(voucherCapacity: 16)
        #expect(drain(&queue, [chain[2]]).ready == [0])
        #expect(drain(&queue, [chain[1], chain[0]]).ready == [0, 1])  // 2's signature vouched for 1, which vouched for 0
        var forgetful = AuthenticationQueue<Int>(voucherCapacity: 0)
        #expect(drain(&forgetful, [chain[2]]).ready == [0])
        #expect(drain(&forgetful, [chain[1]]).ready.isEmpty)
    }

    @Test func everyCopyOfAChainedEventIsAuthenticated() throws {
        let chain = try SignedEvent.chain(events(2), signedBy: alice)
        var queue = AuthenticationQueue<Int>(voucherCapacity: 16)
        #expect(drain(&queue, [chain[0], chain[0], chain[1]]).ready == [0, 1, 2])
    }

    @Test func aChainedEventWithoutSuccessorIsDroppedOnlyPastTheBound() throws {
        let chained = try SignedEvent.chain(events(2), signedBy: alice)[0]
        let others = events(3, by: mallory).map { $0.signed(by: mallory) }
        var queue = AuthenticationQueue<Int>(voucherCapacity: 16)
        #expect(drain(&queue, [chained] + others).ready.isEmpty)
        #expect(queue.dropUnvouchedFront(whenMoreThan: 3) == nil)
        #expect(queue.dropUnvouchedFront(whenMoreThan: 2) == 0)
        var order: [Int] = []
        while case .ready(let index) = queue.front { order.append(index); queue.removeFront() }
        #expect(order == [1, 2, 3])
    }

    @Test func itemsWithoutEventsAndSignedEventsKeepArrivalOrder() throws {
        let signed = events(3).map { $0.signed(by: alice) }
        var queue = AuthenticationQueue<Int>(voucherCapacity: 0)
        let first = try ticket(queue.append(0, event: signed[0]))
        #expect(queue.append(1, event: nil) == nil)
        let third = try ticket(queue.append(2, event: signed[1]))
        queue.checked(third, .success(()))
        guard case .waiting = queue.front else { Issue.record("the front left before its check"); return }
        queue.checked(first, .success(()))
        var order: [Int] = []
        while case .ready(let index) = queue.front { order.append(index); queue.removeFront() }
        #expect(order == [0, 1, 2])
    }

    @Test func aLongQueueStaysInOrderAcrossCompaction() throws {
        let signed = events(500).map { $0.signed(by: alice) }
        var queue = AuthenticationQueue<Int>(voucherCapacity: 0)
        var tickets: [UInt64] = []
        for (index, event) in signed.enumerated() { tickets.append(try ticket(queue.append(index, event: event))) }
        var order: [Int] = []
        for ticket in tickets.reversed() { queue.checked(ticket, .success(())) }
        while case .ready(let index) = queue.front {
            order.append(index)
            queue.removeFront()
            if index == 200 {  // more arrive while the front is being taken off
                let late = try ticket(queue.append(500, event: signed[0]))
                queue.checked(late, .success(()))
            }
        }
        #expect(order == Array(0...500))
    }
}
