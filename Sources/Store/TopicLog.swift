import Wire

/// The stored run of one topic's events: positions `first ..< next` are held (a position is the
/// broker's per-topic counter, from 1), and `pruned` remembers why earlier positions were removed,
/// so that a subscriber who was behind can be told how many it missed and why.
public struct TopicLog: Sendable, Equatable {
    /// Positions `previous.through + 1 ... through` were pruned for `reason`.
    public struct PrunedRange: Sendable, Equatable {
        public var through: UInt64
        public var reason: DropReason
    }

    /// Most ranges remembered; older ones merge into their successor.
    static let maximumPrunedRanges = 32

    public var first: UInt64 = 1
    public var next: UInt64 = 1
    /// Encoded bytes of the events held.
    public var bytes: UInt64 = 0
    /// Arrival time of the newest event, milliseconds since the Unix epoch; arrival times never go
    /// backwards within a topic.
    public var lastArrival: UInt64 = 0
    public var pruned: [PrunedRange] = []

    public init() {}

    /// Events held.
    public var count: UInt64 { next - first }

    /// Records that the oldest held event was removed for `reason`.
    mutating func pruneFront(bytesRemoved removed: UInt64, reason: DropReason) {
        if let lastRange = pruned.last, lastRange.reason == reason, lastRange.through == first - 1 {
            pruned[pruned.count - 1].through = first
        } else {
            pruned.append(PrunedRange(through: first, reason: reason))
            if pruned.count > Self.maximumPrunedRanges { pruned.remove(at: 0) }
        }
        first += 1
        bytes -= min(bytes, removed)
    }

    /// How many events from `position` on were pruned before the subscriber could read them, by
    /// reason. Positions older than the remembered ranges count under the oldest range's reason.
    public func droppedCounts(from position: UInt64) -> [(DropReason, UInt64)] {
        guard position < first else { return [] }
        var counts: [(DropReason, UInt64)] = []
        var start = position
        for (index, range) in pruned.enumerated() where range.through >= start {
            let lower = index == 0 ? start : max(start, pruned[index - 1].through + 1)
            let count = range.through - lower + 1
            if let at = counts.firstIndex(where: { $0.0 == range.reason }) { counts[at].1 += count } else { counts.append((range.reason, count)) }
            start = range.through + 1
        }
        return counts
    }

    // MARK: Encoding (protocol/README.md, "Broker store")

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 33 + pruned.count * 9)
        writer.u64(first); writer.u64(next); writer.u64(bytes); writer.u64(lastArrival)
        writer.u8(UInt8(pruned.count))
        for range in pruned { writer.u64(range.through); writer.u8(range.reason.rawValue) }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(WireError) -> TopicLog {
        var reader = ByteReader(bytes)
        var log = TopicLog()
        log.first = try reader.u64("first position")
        log.next = try reader.u64("next position")
        log.bytes = try reader.u64("bytes")
        log.lastArrival = try reader.u64("last arrival")
        let rangeCount = try reader.u8("pruned range count")
        for _ in 0..<rangeCount {
            let through = try reader.u64("pruned through")
            let rawReason = try reader.u8("pruned reason")
            guard let reason = DropReason(rawValue: rawReason) else { throw WireError(.invalidValue, "unknown drop reason \(rawReason)") }
            log.pruned.append(PrunedRange(through: through, reason: reason))
        }
        try reader.expectEnd("topic log")
        guard log.first >= 1, log.first <= log.next else { throw WireError(.invalidValue, "topic log positions out of order") }
        return log
    }
}
