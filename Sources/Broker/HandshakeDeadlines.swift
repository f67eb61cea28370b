import Platform

/// Connections (client sessions and peer links, by number) still in their handshake, oldest first,
/// so that one timer enforces the handshake time limit for all of them. A timer per connection
/// cost each connection allocations that were freed once its handshake ended, leaving holes
/// between the allocations that stay. Connections join in the order they were accepted, so their
/// deadlines, under whatever limit is configured when they are checked, come in that order too.
struct HandshakeDeadlines {
    private var waiting = ArrayQueue<(number: UInt64, since: UInt64)>()

    var isEmpty: Bool { waiting.isEmpty }

    /// Starts the clock for connection `number` at `now` (monotonic nanoseconds).
    mutating func add(_ number: UInt64, now: UInt64) {
        waiting.append((number, now))
    }

    /// Takes the connections whose time, `limit` nanoseconds, is up at `now`, oldest first (some
    /// may have finished their handshake or closed since: the caller checks).
    mutating func expired(now: UInt64, limit: UInt64) -> [UInt64] {
        var numbers: [UInt64] = []
        while let first = waiting.first, Self.elapsed(since: first.since, now: now) >= limit {
            numbers.append(first.number)
            waiting.removeFirst()
        }
        return numbers
    }

    /// Removes connections from the front while `isDone` says they no longer need a deadline.
    mutating func dropFront(while isDone: (UInt64) -> Bool) {
        while let first = waiting.first, isDone(first.number) { waiting.removeFirst() }
    }

    /// Nanoseconds from `now` until the oldest connection's time is up; nil when none waits.
    func untilNext(now: UInt64, limit: UInt64) -> UInt64? {
        waiting.first.map { first in limit - min(limit, Self.elapsed(since: first.since, now: now)) }
    }

    /// Time from `since` to `now`; 0 for a connection that joined after `now` was read.
    private static func elapsed(since: UInt64, now: UInt64) -> UInt64 {
        now > since ? now - since : 0
    }
}
