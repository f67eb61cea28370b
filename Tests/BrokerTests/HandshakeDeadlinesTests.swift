@testable import Broker
import Testing

@Suite struct HandshakeDeadlinesTests {
    @Test func connectionsExpireOldestFirstOnceTheirTimeIsUp() {
        var deadlines = HandshakeDeadlines()
        #expect(deadlines.untilNext(now: 0, limit: 10) == nil)
        deadlines.add(1, now: 100)
        deadlines.add(2, now: 104)
        deadlines.add(3, now: 104)
        #expect(deadlines.untilNext(now: 101, limit: 10) == 9)
        #expect(deadlines.expired(now: 109, limit: 10).isEmpty)
        #expect(deadlines.expired(now: 110, limit: 10) == [1])
        #expect(deadlines.untilNext(now: 110, limit: 10) == 4)
        #expect(deadlines.expired(now: 200, limit: 10) == [2, 3])
        #expect(deadlines.isEmpty)
    }

    /// The limit is applied when the deadlines are checked: a shorter one after a reload counts
    /// for connections already waiting.
    @Test func aChangedLimitAppliesToConnectionsAlreadyWaiting() {
        var deadlines = HandshakeDeadlines()
        deadlines.add(1, now: 100)
        deadlines.add(2, now: 150)
        #expect(deadlines.expired(now: 152, limit: 2) == [1, 2])
        deadlines.add(3, now: 160)
        #expect(deadlines.untilNext(now: 200, limit: 10) == 0)
        #expect(deadlines.untilNext(now: 150, limit: 10) == 10)  // joined after `now` was read
    }

    @Test func connectionsDoneWithTheirHandshakeLeaveFromTheFront() {
        var deadlines = HandshakeDeadlines()
        for number in 1...4 as ClosedRange<UInt64> { deadlines.add(number, now: 100) }
        deadlines.dropFront { $0 != 3 }
        #expect(deadlines.expired(now: 1000, limit: 10) == [3, 4])
        deadlines.dropFront { _ in true }
        #expect(deadlines.isEmpty)
    }
}
