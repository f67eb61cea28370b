import Store
import Wire

/// The broker's durable sessions: every record the store holds, which are attached to a
/// connection now, and which changed since they were last saved.
struct DurableSessions {
    private(set) var records: [SessionKey: SessionRecord]
    private var attached: [SessionKey: UInt64] = [:]
    private var dirty: Set<SessionKey> = []

    init(records: [SessionKey: SessionRecord]) {
        self.records = records
    }

    func isAttached(_ key: SessionKey) -> Bool { attached[key] != nil }

    /// Attaches a subscription to the session; `record` is being written by the caller.
    mutating func attach(_ key: SessionKey, record: SessionRecord, subscription: UInt64) {
        records[key] = record
        attached[key] = subscription
        dirty.remove(key)
    }

    mutating func detach(_ key: SessionKey, subscription: UInt64, now: UInt64) {
        guard attached[key] == subscription else { return }
        attached.removeValue(forKey: key)
        records[key]?.lastSeen = now
        dirty.insert(key)
    }

    /// Moves the cursor forward (never back).
    mutating func acknowledge(_ key: SessionKey, through position: UInt64) {
        guard let record = records[key], position > record.cursor else { return }
        records[key]?.cursor = position
        dirty.insert(key)
    }

    /// A save that failed must be retried.
    mutating func markDirty(_ key: SessionKey) {
        if records[key] != nil { dirty.insert(key) }
    }

    /// The records changed since they were last taken, to be saved.
    mutating func takeDirty() -> [(SessionKey, SessionRecord)] {
        let changed = dirty.compactMap { key in records[key].map { (key, $0) } }
        dirty.removeAll()
        return changed
    }

    /// Marks sessions detached for longer than `expiry` as expired (kept as tombstones), removes
    /// tombstones older than twice that, and refreshes `lastSeen` of attached sessions so that a
    /// crash does not make them look abandoned. Returns the newly expired and the removed keys.
    mutating func expire(now: UInt64, expiry: UInt64) -> (expired: [SessionKey], removed: [SessionKey]) {
        var expired: [SessionKey] = []
        var removed: [SessionKey] = []
        for (key, record) in records {
            if attached[key] != nil {
                if now &- record.lastSeen > expiry / 10 {
                    records[key]?.lastSeen = now
                    dirty.insert(key)
                }
            } else if record.expired {
                if record.lastSeen &+ 2 &* expiry < now {
                    records.removeValue(forKey: key)
                    dirty.remove(key)
                    removed.append(key)
                }
            } else if record.lastSeen &+ expiry < now {
                records[key]?.expired = true
                dirty.insert(key)
                expired.append(key)
            }
        }
        return (expired, removed)
    }
}
