#if canImport(Glibc)
import Glibc
#endif

/// A fixed set of threads for CPU-heavy, stateless work (signature checks), so the event loop
/// stays free for I/O; and, with one thread, a serial queue (the store's writer).
public final class WorkerPool: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs = ArrayQueue<@Sendable () -> Void>()
    private var stopping = false
    private var running = 0
    public let threadCount: Int
    /// The threads' nice value: above 0, they yield the core to the event loop whenever it has
    /// work, instead of holding it for a scheduler slice (milliseconds) while a frame waits.
    public let niceness: Int32

    public init(threads: Int, niceness: Int32 = 0) throws(SystemError) {
        threadCount = max(1, threads)
        self.niceness = niceness
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        for _ in 0..<threadCount {
            try DetachedThread.start("worker thread") { [self] in
                // On Linux, "process" 0 is the calling thread; failing to lower its priority harms nothing.
                if niceness != 0 { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness) }
                work()
            }
            running += 1
        }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Queues `job` for a worker thread. The signal comes after the unlock: a worker woken while
    /// the mutex is still held would wake only to block on it (two more futex calls and a switch).
    public func submit(_ job: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(mutex)
        jobs.append(job)
        pthread_mutex_unlock(mutex)
        pthread_cond_signal(condition)
    }

    /// Jobs waiting for a thread.
    public var backlog: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return jobs.count
    }

    /// Lets the threads finish queued jobs and exit.
    public func shutdown() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    private func work() {
        while true {
            pthread_mutex_lock(mutex)
            while jobs.isEmpty && !stopping { pthread_cond_wait(condition, mutex) }
            guard let job = jobs.removeFirst() else {
                running -= 1
                pthread_mutex_unlock(mutex)
                return
            }
            pthread_mutex_unlock(mutex)
            job()
        }
    }
}
