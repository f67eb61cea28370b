import Platform
import Wire

/// The events of one topic handed to the store and not yet committed, in the order the store
/// appends them, each with the position it is expected to get. Live subscribers receive an event
/// when it is handed to the store, not when it is committed (protocol §9.3); this list is what a
/// catching-up subscriber reads after the store, and what each commit result is checked against.
struct UncommittedAppends {
    struct Entry {
        let event: SignedEvent
        /// The position the store is expected to give the event.
        var position: UInt64
        /// Whether it went to live subscribers before its commit. Once one entry is held back
        /// (while the store refuses data), so is every later one, and they go out at commit.
        var deliveredEarly: Bool
    }

    private var entries = ArrayQueue<Entry>()

    var first: Entry? { entries.first }
    var last: Entry? { entries.last }

    /// The position the next event handed to the store gets.
    func nextPosition(committedNext: UInt64) -> UInt64 { last.map { $0.position + 1 } ?? committedNext }

    mutating func append(_ entry: Entry) { entries.append(entry) }

    mutating func removeFirst() { entries.removeFirst() }

    /// The entries delivered early from `position` on, in position order.
    func deliveredEarly(from position: UInt64) -> ArraySlice<Entry> {
        guard let first, position >= first.position else { return [] }
        let offset = Int(min(position - first.position, UInt64(entries.count)))
        return entries.suffix(fromOffset: offset).prefix { $0.deliveredEarly }
    }

    /// Marks every entry delivered early and returns those that were not, in order: the store
    /// takes data again, so what was held back goes out now.
    mutating func deliverAllEarly() -> [Entry] {
        var released: [Entry] = []
        for index in 0..<entries.count where !entries[index].deliveredEarly {
            entries[index].deliveredEarly = true
            released.append(entries[index])
        }
        return released
    }

    /// Gives the entries consecutive positions from `position` and holds them back until their
    /// commits: the store numbered an earlier event otherwise than expected, so these move with it,
    /// and they may fail the same way.
    mutating func holdBack(renumberingFrom position: UInt64) {
        var next = position
        for index in 0..<entries.count {
            entries[index].position = next
            entries[index].deliveredEarly = false
            next += 1
        }
    }
}
