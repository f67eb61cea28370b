import CLibevent
import Platform
#if canImport(Glibc)
import Glibc
#endif

/// One libevent `event_base` and the thread that runs it. State the loop owns is touched only on
/// that thread; other threads hand it work with `execute`, which wakes the loop with `event_active`.
public final class EventLoop: @unchecked Sendable {
    private static let threadingEnabled: Bool = {
        signal(SIGPIPE, SIG_IGN)  // evhttp writes with writev; a closed peer must not kill us
        return evthread_use_pthreads() == 0
    }()

    let base: OpaquePointer
    private var wakeup: OpaquePointer!
    private var afterCallbacks: OpaquePointer!
    private var afterCallbacksWork: [() -> Void] = []  // loop thread only
    private var connectionsToFlush: [Connection] = []  // loop thread only
    private var endOfTurnWork: [() -> Void] = []  // loop thread only
    private var afterCallbacksScheduled = false  // loop thread only
    /// Runs in the loop's next pass, after it has polled the sockets again.
    private var nextPass: OpaquePointer!
    private var drainsToReport: [Connection] = []  // loop thread only
    /// Where the loop's connections read into: callbacks on one loop never overlap, so one buffer
    /// serves them all and an idle connection needs none.
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
    private let lock = PthreadMutex()
    private var pending: [@Sendable () -> Void] = []
    private var loopThread: pthread_t?
    private var stopped = false

    public init() throws(EventLoopError) {
        guard Self.threadingEnabled else { throw EventLoopError("libevent could not enable pthreads locking") }
        guard let base = event_base_new() else { throw EventLoopError("libevent could not create an event base") }
        self.base = base
        wakeup = polder_evuser_new(base, wakeupCallback, Unmanaged.passUnretained(self).toOpaque())
        event_add(wakeup, nil)
        afterCallbacks = polder_evuser_new(base, afterCallbacksCallback, Unmanaged.passUnretained(self).toOpaque())
        event_add(afterCallbacks, nil)
        nextPass = event_new(base, -1, 0, nextPassCallback, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        event_free(nextPass)
        event_free(afterCallbacks)
        event_free(wakeup)
        event_base_free(base)
        readBuffer.deallocate()
    }

    /// Starts a thread that runs a new loop until `stop()`.
    public static func startThread() throws(EventLoopError) -> EventLoop {
        let loop = try EventLoop()
        do { try DetachedThread.start("event loop thread") { loop.run() } } catch {
            throw EventLoopError("cannot start an event loop thread: \(error)")
        }
        return loop
    }

    /// Runs the loop on the calling thread until `stop()`.
    public func run() {
        lock.withLock { loopThread = pthread_self() }
        event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY)
        drain()
        runAfterCallbacksWork()
        lock.withLock { loopThread = nil }
    }

    /// Makes `run()` return after the current callbacks; callable from any thread.
    public func stop() {
        execute { [self] in
            stopped = true
            event_base_loopbreak(base)
        }
    }

    /// Whether the caller is on this loop's thread.
    public var inEventLoop: Bool {
        lock.withLock { loopThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// Runs `work` on the loop thread soon; callable from any thread.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        let wasIdle = lock.withLock { () -> Bool in
            pending.append(work)
            return pending.count == 1
        }
        // Only the first of a burst wakes the loop: `drain` takes everything queued until then,
        // and looks again after running it.
        if wasIdle { event_active(wakeup, EV_READ, 0) }
    }

    /// Runs `work` on the loop thread once the callbacks already due in this turn have run; call
    /// on the loop thread. Work that several callbacks produce can so be done once (the sessions
    /// seal what a turn queued for them in one frame).
    public func runAfterCurrentCallbacks(_ work: @escaping () -> Void) {
        afterCallbacksWork.append(work)
        scheduleAfterCallbacks()
    }

    /// Runs `work` once this turn's callbacks, the work they queued and the writes they made are
    /// done; call on the loop thread. For work that must not delay what the turn sends, such as
    /// waking another thread that would compete for the CPU.
    public func runAtEndOfTurn(_ work: @escaping () -> Void) {
        endOfTurnWork.append(work)
        scheduleAfterCallbacks()
    }

    /// Writes `connection`'s queued output once the callbacks already due in this turn (and the
    /// work they queued with `runAfterCurrentCallbacks`) have run: what a turn sends to one peer
    /// goes out in one write.
    func flushAfterCurrentCallbacks(_ connection: Connection) {
        connectionsToFlush.append(connection)
        scheduleAfterCallbacks()
    }

    /// Tells `connection` in the loop's next pass that its output drained. Not at once: a delegate
    /// that answers a drain by sending more (a catch-up reader) waits its turn behind the other
    /// sockets, as it would for a write event, and no connection keeps a write event for it.
    func reportDrainInNextPass(_ connection: Connection) {
        drainsToReport.append(connection)
        guard drainsToReport.count == 1 else { return }
        var now = timeval(tv_sec: 0, tv_usec: 0)
        event_add(nextPass, &now)
    }

    fileprivate func runNextPass() {
        let connections = drainsToReport
        drainsToReport.removeAll(keepingCapacity: true)
        for connection in connections { connection.reportQueuedDrain() }
    }

    private func scheduleAfterCallbacks() {
        guard !afterCallbacksScheduled else { return }
        afterCallbacksScheduled = true
        event_active(afterCallbacks, EV_READ, 0)
    }

    fileprivate func runAfterCallbacksWork() {
        repeat {
            while !afterCallbacksWork.isEmpty || !connectionsToFlush.isEmpty {
                let batch = afterCallbacksWork
                afterCallbacksWork.removeAll(keepingCapacity: true)
                for work in batch { work() }
                let flushes = connectionsToFlush
                connectionsToFlush.removeAll(keepingCapacity: true)
                for connection in flushes { connection.flush() }
            }
            let last = endOfTurnWork
            endOfTurnWork.removeAll(keepingCapacity: true)
            for work in last { work() }
        } while !afterCallbacksWork.isEmpty || !connectionsToFlush.isEmpty || !endOfTurnWork.isEmpty
        afterCallbacksScheduled = false
    }

    fileprivate func drain() {
        while true {
            let batch = lock.withLock { () -> [@Sendable () -> Void] in
                defer { pending.removeAll(keepingCapacity: true) }
                return pending
            }
            if batch.isEmpty { return }
            for work in batch { work() }
        }
    }
}

private func afterCallbacksCallback(_ fd: Int32, _ what: Int16, _ argument: UnsafeMutableRawPointer?) {
    Unmanaged<EventLoop>.fromOpaque(argument!).takeUnretainedValue().runAfterCallbacksWork()
}

private func nextPassCallback(_ fd: Int32, _ what: Int16, _ argument: UnsafeMutableRawPointer?) {
    Unmanaged<EventLoop>.fromOpaque(argument!).takeUnretainedValue().runNextPass()
}

private func wakeupCallback(_ fd: Int32, _ what: Int16, _ argument: UnsafeMutableRawPointer?) {
    Unmanaged<EventLoop>.fromOpaque(argument!).takeUnretainedValue().drain()
}

/// A value that belongs to one event loop: it may cross threads inside `@Sendable` closures, but
/// is read or written only on its loop (checked).
public struct LoopBound<Value>: @unchecked Sendable {
    private let stored: Value
    public let loop: EventLoop

    public init(_ value: Value, loop: EventLoop) {
        self.stored = value
        self.loop = loop
    }

    public var value: Value {
        precondition(loop.inEventLoop, "a loop-bound value was used off its loop")
        return stored
    }
}
