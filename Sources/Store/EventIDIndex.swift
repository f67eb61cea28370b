import Platform
import Wire

/// Where each stored event is, by ID, kept in memory. Event IDs are hashes, so an on-disk index
/// keyed by them puts every new event on a different B-tree page: the `ids` database of schema 2
/// wrote a 4 KiB page per event, more than the event itself. This index holds the first 8 bytes
/// of each ID and the event's position (24 to 32 bytes per event), is built from `sequences` when
/// the store opens, and changes only after a commit. A lookup yields candidate positions, which
/// the reader confirms against the event it reads, so two IDs sharing a prefix cost a read, never
/// a wrong answer.
final class EventIDIndex: @unchecked Sendable {
    /// One entry added or removed by a transaction, applied once it is committed.
    struct Change {
        let topic: TopicID
        let prefix: UInt64
        let position: UInt64
        let added: Bool
    }

    /// One topic's positions by ID prefix; the rare second event with a prefix goes to `more`.
    private struct Positions {
        var first: [UInt64: UInt64] = [:]
        var more: [UInt64: [UInt64]] = [:]

        var isEmpty: Bool { first.isEmpty }

        mutating func add(_ position: UInt64, prefix: UInt64) {
            if first[prefix] == nil { first[prefix] = position } else { more[prefix, default: []].append(position) }
        }

        mutating func remove(_ position: UInt64, prefix: UInt64) {
            if first[prefix] == position {
                if var others = more[prefix], !others.isEmpty {
                    first[prefix] = others.removeFirst()
                    more[prefix] = others.isEmpty ? nil : others
                } else {
                    first[prefix] = nil
                }
            } else if var others = more[prefix] {
                others.removeAll { $0 == position }
                more[prefix] = others.isEmpty ? nil : others
            }
        }
    }

    private let lock = PthreadMutex()
    private var topics: [TopicID: Positions] = [:]  // guarded by `lock`

    init() {}

    static func prefix(_ id: EventID) -> UInt64 {
        id.raw.withUnsafeBytes { prefix(ofIDBytes: $0) }
    }

    /// The key of an ID given as its 32 bytes.
    static func prefix(ofIDBytes bytes: UnsafeRawBufferPointer) -> UInt64 {
        bytes.loadUnaligned(as: UInt64.self)
    }

    /// Positions that may hold the event with `id` on `topic` (usually none or one).
    func candidates(topic: TopicID, id: EventID) -> [UInt64] {
        let prefix = Self.prefix(id)
        return lock.withLock {
            guard let positions = topics[topic], let first = positions.first[prefix] else { return [] }
            return [first] + (positions.more[prefix] ?? [])
        }
    }

    func apply(_ changes: [Change]) {
        guard !changes.isEmpty else { return }
        lock.withLock {
            // Changes come in runs of one topic: its table is looked up once per run.
            var index = 0
            while index < changes.count {
                let topic = changes[index].topic
                var positions = topics.removeValue(forKey: topic) ?? Positions()
                while index < changes.count && changes[index].topic == topic {
                    let change = changes[index]
                    if change.added { positions.add(change.position, prefix: change.prefix) } else { positions.remove(change.position, prefix: change.prefix) }
                    index += 1
                }
                if !positions.isEmpty { topics[topic] = positions }
            }
        }
    }
}
