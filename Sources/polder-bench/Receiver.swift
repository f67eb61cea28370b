#if canImport(Glibc)
import Glibc
#endif
import Platform
import Synchronization

/// Reads every connection of a run on one thread with poll(2), hands the bytes to each
/// connection's protocol, and keeps the counts the sending thread paces itself by.
final class Receiver: @unchecked Sendable {
    /// Called on the receiving thread for each delivery: connection index, message number and
    /// the monotonic time it was read.
    typealias DeliveryHandler = (_ connection: Int, _ number: UInt64, _ now: UInt64) -> Void

    private let connections: [LoadConnection]
    private let onDelivery: DeliveryHandler?
    /// Deliveries to the connection that has had fewest (all connections but publishers count).
    let slowestDelivered = Atomic<Int>(0)
    let totalDelivered = Atomic<Int>(0)
    let acknowledged = Atomic<Int>(0)
    private let failure = Mutex<BenchError?>(nil)
    private let stopping = Atomic<Bool>(false)
    private let waiting = Atomic<Bool>(false)
    private let progressed = Semaphore()
    private let finished = Semaphore()
    private let subscribers: Set<Int>

    /// - Parameter subscribers: indices into `connections` whose deliveries are counted.
    init(_ connections: [LoadConnection], subscribers: Set<Int>, onDelivery: DeliveryHandler? = nil) {
        self.connections = connections
        self.subscribers = subscribers
        self.onDelivery = onDelivery
    }

    func start() {
        do { try DetachedThread.start("receiving thread") { [self] in run() } } catch {
            failure.withLock { $0 = BenchError("cannot start the receiving thread: \(error)") }
            finished.signal()
        }
    }

    /// Stops the thread and waits for it; throws what went wrong on it, if anything. Safe to call again.
    func stop() throws(BenchError) {
        if !stopping.exchange(true, ordering: .acquiringAndReleasing) { finished.wait() }
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// Waits until `condition` holds, the receiving thread fails, or `deadline` (monotonic ns) passes.
    /// Prints `progress()` every two seconds while it waits.
    func wait(until deadline: UInt64, for what: @autoclosure () -> String, progress: (() -> String)? = nil,
              _ condition: () -> Bool) throws(BenchError) {
        var lastReport = Environment.monotonicNanoseconds()
        while !condition() {
            if let progress, Environment.monotonicNanoseconds() - lastReport > 2_000_000_000 {
                lastReport = Environment.monotonicNanoseconds()
                Console.standardOutput("      \(progress())")
            }
            if let error = failure.withLock({ $0 }) { throw error }
            guard Environment.monotonicNanoseconds() < deadline else { throw BenchError("timed out waiting for \(what())") }
            waiting.store(true, ordering: .sequentiallyConsistent)
            if condition() { break }
            _ = progressed.wait(seconds: 0.01)
        }
        waiting.store(false, ordering: .relaxed)
    }

    private func run() {
        defer { finished.signal() }
        var polls = connections.map { pollfd(fd: $0.socket.descriptor, events: Int16(POLLIN), revents: 0) }
        var delivered = connections.map(\.deliveredDuringSetup)
        totalDelivered.store(delivered.reduce(0, +), ordering: .relaxed)
        if !subscribers.isEmpty { slowestDelivered.store(subscribers.lazy.map { delivered[$0] }.min()!, ordering: .relaxed) }
        var arrivals = Arrivals()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 8)
        defer { buffer.deallocate() }
        do throws(BenchError) {
            while !stopping.load(ordering: .acquiring) {
                let ready = poll(&polls, nfds_t(polls.count), 20)
                guard ready > 0 else { continue }
                var changed = false
                for index in polls.indices where polls[index].revents != 0 {
                    let connection = connections[index]
                    let count = try connection.socket.read(into: buffer)
                    let reply = try connection.take(UnsafeRawBufferPointer(rebasing: buffer[..<count]), into: &arrivals)
                    if !reply.isEmpty { try connection.socket.write(reply) }
                    if !arrivals.delivered.isEmpty {
                        if let onDelivery {
                            let now = Environment.monotonicNanoseconds()
                            for number in arrivals.delivered { onDelivery(index, number, now) }
                        }
                        delivered[index] += arrivals.delivered.count
                        totalDelivered.add(arrivals.delivered.count, ordering: .relaxed)
                        arrivals.delivered.removeAll(keepingCapacity: true)
                        changed = true
                    }
                    if arrivals.acknowledged > 0 {
                        acknowledged.add(arrivals.acknowledged, ordering: .relaxed)
                        arrivals.acknowledged = 0
                        changed = true
                    }
                }
                guard changed else { continue }
                if !subscribers.isEmpty {
                    slowestDelivered.store(subscribers.lazy.map { delivered[$0] }.min()!, ordering: .relaxed)
                }
                if waiting.exchange(false, ordering: .sequentiallyConsistent) { progressed.signal() }
            }
        } catch {
            failure.withLock { $0 = error }
            progressed.signal()
        }
    }
}
