import Platform
import Wire

/// The store's single writer: a thread that takes every operation queued so far, applies them in
/// one LMDB transaction and commits it with fsync (group commit: what arrives during a commit goes
/// into the next). It owns the authoritative descriptors, topic logs and publisher heads.
final class StoreWriter: @unchecked Sendable {
    /// What the writer knows; changed only on its thread, and only for committed transactions.
    private struct State {
        var descriptors: [TopicID: SignedTopicDescriptor]
        var logs: [TopicID: TopicLog]
        var heads: [BrokerStore.PublisherKey: PublisherHead]
    }

    private let environment: LMDBEnvironment
    private let tables: BrokerStore.Tables
    private let ids: EventIDIndex
    private let options: BrokerStore.Options
    private let onCommit: @Sendable (CommitOutcome) -> Void
    private let thread: WorkerPool
    private let lock = PthreadMutex()
    private var queue: [StoreOperation] = []  // guarded by `lock`
    private var draining = false  // guarded by `lock`
    private var closed = false  // guarded by `lock`
    private var state: State  // writer thread only

    init(environment: LMDBEnvironment, tables: BrokerStore.Tables, ids: EventIDIndex, options: BrokerStore.Options,
         contents: BrokerStore.Contents, onCommit: @escaping @Sendable (CommitOutcome) -> Void) throws(StoreError) {
        self.environment = environment
        self.tables = tables
        self.ids = ids
        self.options = options
        self.onCommit = onCommit
        state = State(descriptors: contents.descriptors, logs: contents.logs, heads: contents.heads)
        do { thread = try WorkerPool(threads: 1, niceness: 10) } catch { throw StoreError(.failed, "cannot start the store writer: \(error)") }
    }

    func submit(_ operations: [StoreOperation]) {
        guard !operations.isEmpty else { return }
        let start = lock.withLock {
            queue.append(contentsOf: operations)
            if draining { return false }
            draining = true
            return true
        }
        if start { thread.submit { self.drain() } }
    }

    /// Waits for every queued operation to be committed, then stops the thread; later calls do nothing.
    func close() {
        let first = lock.withLock {
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        let done = Semaphore()
        thread.submit { done.signal() }
        done.wait()
        thread.shutdown()
    }

    private func drain() {
        while true {
            let batch: [StoreOperation] = lock.withLock {
                var count = 0
                var bytes = 0
                while count < queue.count, count < options.maximumBatchOperations, count == 0 || bytes < options.maximumBatchBytes {
                    bytes += queue[count].size
                    count += 1
                }
                let batch = Array(queue[..<count])
                queue.removeFirst(count)
                if batch.isEmpty { draining = false }
                return batch
            }
            if batch.isEmpty { return }
            commit(batch)
        }
    }

    private func commit(_ batch: [StoreOperation]) {
        let started = Environment.monotonicNanoseconds()
        var outcome = CommitOutcome()
        outcome.batchSize = batch.count
        var attempt = batch
        while !attempt.isEmpty {
            var next = state
            var partial = CommitOutcome()
            do {
                try environment.write { transaction throws(StoreError) in
                    try apply(attempt, to: &next, outcome: &partial, in: transaction)
                }
                state = next
                ids.apply(partial.idChanges)  // before `onCommit`, so the loop never finds a committed event missing
                outcome.results += partial.results
                outcome.logs = partial.logs
                outcome.pruned = partial.pruned
                break
            } catch {
                if error.kind == .mapFull, (try? environment.grow()) == true { continue }
                if (error.kind == .mapFull || error.kind == .diskFull) && outcome.storageFull == nil {
                    // Refuse new data; still commit cursors and pruning, which may free space.
                    outcome.storageFull = error
                    for operation in attempt where operation.addsData { outcome.results.append((operation.ticket!, .failed(error))) }
                    attempt.removeAll { $0.addsData }
                    continue
                }
                for operation in attempt { if let ticket = operation.ticket { outcome.results.append((ticket, .failed(error))) } }
                break
            }
        }
        outcome.commitNanoseconds = Environment.monotonicNanoseconds() - started
        onCommit(outcome)
    }

    private func apply(_ batch: [StoreOperation], to state: inout State, outcome: inout CommitOutcome,
                       in transaction: LMDBTransaction) throws(StoreError) {
        let now = Environment.wallClockMilliseconds()
        var changed: Set<TopicID> = []
        var pruneAll = false
        // A publisher's head is written once for its run of events in the batch, not per event.
        var unwrittenHead: BrokerStore.PublisherKey?
        func writeHead() throws(StoreError) {
            if let unwrittenHead, let head = state.heads[unwrittenHead] { try transaction.put(tables.heads, unwrittenHead, head) }
        }
        for operation in batch {
            switch operation {
            case let .append(signed, ticket):
                let event = signed.event
                let publisher = BrokerStore.PublisherKey(topic: event.topic, publisher: event.publisher)
                let head = PublisherHead(sequence: event.sequence, eventID: signed.id)
                // Each map is looked up once per event (in place); a failed transaction drops `state` whole.
                if let held = Self.advance(&state.heads[publisher], to: head) {
                    outcome.results.append((ticket, held.eventID == signed.id ? .duplicate : .sequenceConflict(held)))
                    continue
                }
                let (position, arrival) = Self.append(signed.encoded.count, to: &state.logs[event.topic, default: TopicLog()], now: now)
                try transaction.putMostlyAppending(tables.events, StoredEvent.Key(topic: event.topic, position: position),
                                                   StoredEvent.Value(arrival: arrival, expiry: event.expiry, encoded: signed.encoded))
                try EventIndex.add(signed, at: position, tables: tables, in: transaction, changes: &outcome.idChanges)
                if unwrittenHead != publisher {
                    try writeHead()
                    unwrittenHead = publisher
                }
                changed.insert(event.topic)
                outcome.results.append((ticket, .appended(position: position, arrival: arrival)))
            case let .putDescriptor(descriptor, ticket):
                let topic = descriptor.descriptor.topic
                if let held = state.descriptors[topic], !descriptor.mayReplace(held) {
                    outcome.results.append((ticket, .staleDescriptor(held: held.descriptor.revision)))
                    continue
                }
                try transaction.put(tables.descriptors, topic.bytes, descriptor.encoded)
                state.descriptors[topic] = descriptor
                if state.logs[topic] != nil { changed.insert(topic) }  // its retention may be lower now
                outcome.results.append((ticket, .stored))
            case let .putSession(key, record, ticket):
                try transaction.put(tables.sessions, key.encoded(), record.encoded())
                outcome.results.append((ticket, .stored))
            case let .deleteSession(key, ticket):
                try transaction.delete(tables.sessions, key.encoded())
                outcome.results.append((ticket, .stored))
            case .prune:
                pruneAll = true
            case .rememberPeers(let profiles):
                var stale: [[UInt8]] = []
                try transaction.scan(tables.peers) { key, _ in
                    stale.append(Array(key))
                    return true
                }
                for key in stale { _ = try transaction.delete(tables.peers, key) }
                for profile in profiles { try transaction.put(tables.peers, profile.broker.bytes, profile.encoded) }
            }
        }
        try writeHead()
        var budget = options.maximumPrunesPerCommit
        for topic in pruneAll ? Set(state.logs.keys) : changed {
            if try prune(topic, now: now, budget: &budget, state: &state, outcome: &outcome, in: transaction) { changed.insert(topic) }
        }
        for topic in changed {
            guard let log = state.logs[topic] else { continue }
            try transaction.put(tables.logs, topic.bytes, log.encoded())
            outcome.logs[topic] = log
        }
    }

    /// Moves a publisher's head to `head`, or returns the head held when `head` is not after it.
    private static func advance(_ held: inout PublisherHead?, to head: PublisherHead) -> PublisherHead? {
        if let held, head.sequence <= held.sequence { return held }
        held = head
        return nil
    }

    /// Takes the next position of a topic's log for an event of `bytes`; returns it and the arrival time.
    private static func append(_ bytes: Int, to log: inout TopicLog, now: UInt64) -> (position: UInt64, arrival: UInt64) {
        let taken = (position: log.next, arrival: max(now, log.lastArrival))
        log.next += 1
        log.bytes += UInt64(bytes)
        log.lastArrival = taken.arrival
        return taken
    }

    /// Removes the oldest events of `topic` while it exceeds its retention or they expired.
    private func prune(_ topic: TopicID, now: UInt64, budget: inout Int, state: inout State, outcome: inout CommitOutcome,
                       in transaction: LMDBTransaction) throws(StoreError) -> Bool {
        guard var log = state.logs[topic], log.count > 0 else { return false }
        let limits = (state.descriptors[topic]?.descriptor.retention ?? Retention()).effective(under: options.retention)
        var removed = false
        while log.count > 0, budget > 0 {
            let key = StoredEvent.Key(topic: topic, position: log.first)
            guard let value = try transaction.get(tables.events, key) else {
                throw StoreError(.corrupt, "position \(log.first) of topic \(topic.text) is missing from the store")
            }
            let (arrival, expiry) = try StoredEvent.header(value)
            let size = value.count
            let reason: DropReason
            if limits.maximumEvents > 0 && log.count > limits.maximumEvents {
                reason = .retentionCount
            } else if limits.maximumBytes > 0 && log.bytes > limits.maximumBytes {
                reason = .retentionBytes
            } else if expiry != 0 && expiry <= now {
                reason = .expired
            } else if limits.maximumAgeSeconds > 0 && arrival &+ limits.maximumAgeSeconds &* 1000 <= now {
                reason = .retentionAge
            } else {
                break
            }
            let stored: SignedEvent
            do { stored = try SignedEvent.decode(Array(value[16...])) } catch {
                throw StoreError(.corrupt, "the stored event at position \(log.first) of topic \(topic.text) does not decode: \(error.message)")
            }
            try EventIndex.remove(stored, at: log.first, tables: tables, in: transaction, changes: &outcome.idChanges)
            _ = try transaction.delete(tables.events, key)
            log.pruneFront(bytesRemoved: UInt64(size - 16), reason: reason)
            outcome.pruned[reason, default: 0] += 1
            budget -= 1
            removed = true
        }
        if removed { state.logs[topic] = log }
        return removed
    }
}
