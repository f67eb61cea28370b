import CLibevent

/// A timer on an event loop. Create, schedule and cancel it on the loop thread.
public final class Timer {
    private var event: OpaquePointer!
    private let handler: () -> Void
    private let repeating: Bool
    private var interval = timeval()

    /// - Parameter repeating: fire every interval until cancelled, instead of once.
    public init(loop: EventLoop, repeating: Bool = false, _ handler: @escaping () -> Void) {
        self.handler = handler
        self.repeating = repeating
        let flags: Int16 = repeating ? Int16(EV_PERSIST) : 0
        event = event_new(loop.base, -1, flags, timerCallback, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        event_free(event)
    }

    /// Fires after `seconds` (and then every `seconds` when repeating); replaces any earlier schedule.
    public func schedule(after seconds: Double) {
        interval.tv_sec = Int(seconds)
        interval.tv_usec = Int((seconds - Double(Int(seconds))) * 1_000_000)
        event_add(event, &interval)
    }

    public func cancel() {
        event_del(event)
    }

    fileprivate func fire() { handler() }
}

private func timerCallback(_ fd: Int32, _ what: Int16, _ argument: UnsafeMutableRawPointer?) {
    withExtendedLifetime(Unmanaged<Timer>.fromOpaque(argument!).takeUnretainedValue()) { $0.fire() }  // the handler may drop the last reference
}

/// Runs a handler on the loop thread when a POSIX signal arrives.
public final class SignalWatcher {
    private var event: OpaquePointer!
    private let handler: () -> Void

    public init(loop: EventLoop, signal: Int32, _ handler: @escaping () -> Void) {
        self.handler = handler
        event = polder_evsignal_new(loop.base, signal, signalCallback, Unmanaged.passUnretained(self).toOpaque())
        event_add(event, nil)
    }

    deinit {
        event_free(event)
    }

    fileprivate func fire() { handler() }
}

private func signalCallback(_ fd: Int32, _ what: Int16, _ argument: UnsafeMutableRawPointer?) {
    withExtendedLifetime(Unmanaged<SignalWatcher>.fromOpaque(argument!).takeUnretainedValue()) { $0.fire() }  // the handler may drop the last reference
}
