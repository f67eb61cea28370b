#if canImport(Glibc)
import Glibc
#endif
import Histogram
import Platform

/// The six scenarios, each run against one broker in a process of its own. Every wait is bounded
/// by `timeout`; publications are encoded before the clock starts.
struct Scenarios {
    var events = 100_000
    var fanOutEvents = 10_000
    var fanOutSubscribers = 100
    var window = 1000
    var latencySeconds = 5.0
    var durableEvents = 20_000
    var durableWindow = 256
    var singleDurableEvents = 1_000
    var queuedEvents = 100_000
    var idleConnections = 10_000
    var timeout = 120.0

    /// Deliveries per second from one publisher to `subscribers`, and broker CPU seconds per
    /// million deliveries. The publisher keeps at most `window` events ahead of the slowest subscriber.
    /// Its events go as chains (one signature per segment), or with `signedAlone` each with a
    /// signature of its own, which makes signature checks the broker's main work.
    func throughput(_ broker: BrokerProcess, payload: Int, count: Int, subscribers: Int,
                    signedAlone: Bool = false) throws(BenchError) -> (rate: Double, cpuPerMillion: Double) {
        let deadline = Self.deadline(timeout)
        let driver = try broker.kind.driver(port: broker.port, run: "t\(payload)x\(subscribers)")
        let publisher = try driver.connect(.publisher, client: "publisher")
        var connections: [LoadConnection] = [publisher]
        for index in 0..<subscribers {
            let subscriber = try driver.connect(.subscriber, client: "subscriber-\(index)")
            try driver.subscribe(subscriber, durable: nil)
            connections.append(subscriber)
        }
        let frames = try driver.publications(1...UInt64(count), payload: payload, acknowledged: false, streamed: !signedAlone,
                                             from: publisher)
        let receiver = Receiver(connections, subscribers: Set(1...subscribers))
        receiver.start()
        defer { _ = try? receiver.stop() }
        let cpu = broker.cpuSeconds, start = Environment.monotonicNanoseconds()
        try send(frames, through: publisher, receiver: receiver, deadline: deadline) { receiver.slowestDelivered.load(ordering: .relaxed) }
        try receiver.wait(until: deadline, for: "the last deliveries", progress: { "\(receiver.slowestDelivered.load(ordering: .relaxed)) of \(count) events delivered" }) {
            receiver.slowestDelivered.load(ordering: .relaxed) >= count
        }
        let seconds = Self.seconds(since: start)
        try receiver.stop()
        let deliveries = Double(count * subscribers)
        return (deliveries / seconds, (broker.cpuSeconds - cpu) / deliveries * 1e6)
    }

    /// Publish-to-delivery latency at a fixed offered rate, open loop: each send has a scheduled
    /// time and latency counts from it, so a broker that falls behind cannot hide it. The first
    /// tenth is warm-up and not recorded.
    func latency(_ broker: BrokerProcess, rate: Int) throws(BenchError) -> Histogram<UInt64> {
        let count = Int(Double(rate) * latencySeconds)
        let deadline = Self.deadline(timeout + latencySeconds)
        let driver = try broker.kind.driver(port: broker.port, run: "latency\(rate)")
        let publisher = try driver.connect(.publisher, client: "publisher")
        let subscriber = try driver.connect(.subscriber, client: "subscriber")
        try driver.subscribe(subscriber, durable: nil)
        let frames = try driver.publications(1...UInt64(count), payload: 128, acknowledged: false, streamed: false, from: publisher)
        let interval = 1_000_000_000 / UInt64(rate)
        let recorder = LatencyRecorder(warmUp: UInt64(count / 10))
        let start = Environment.monotonicNanoseconds() + 10_000_000
        let receiver = Receiver([publisher, subscriber], subscribers: [1]) { _, number, now in
            recorder.record(number: number, latency: now &- (start + (number - 1) * interval))
        }
        receiver.start()
        defer { _ = try? receiver.stop() }
        Self.tightenTimerSlack()
        for (index, frame) in frames.enumerated() {
            Self.sleep(until: start + UInt64(index) * interval)
            try publisher.socket.write(frame)
        }
        try receiver.wait(until: deadline, for: "the last deliveries", progress: { "\(receiver.totalDelivered.load(ordering: .relaxed)) of \(count) delivered" }) {
            receiver.totalDelivered.load(ordering: .relaxed) >= count
        }
        try receiver.stop()
        return recorder.histogram
    }

    /// Acknowledged publishes per second into a topic with a durable subscriber that is away:
    /// one publish in flight, then `durableWindow`; and broker CPU seconds per million.
    func durablePublishing(_ broker: BrokerProcess) throws(BenchError) -> (single: Double, windowed: Double, cpuPerMillion: Double) {
        let deadline = Self.deadline(timeout)
        let driver = try broker.kind.driver(port: broker.port, run: "durable")
        let publisher = try leaveDurableSubscriber(driver)
        let single = try driver.publications(1...UInt64(singleDurableEvents), payload: 128, acknowledged: true, streamed: false, from: publisher)
        let windowed = try driver.publications(UInt64(singleDurableEvents + 1)...UInt64(singleDurableEvents + durableEvents), payload: 128,
                                               acknowledged: true, streamed: true, from: publisher)
        let receiver = Receiver([publisher], subscribers: [])
        receiver.start()
        defer { _ = try? receiver.stop() }
        var start = Environment.monotonicNanoseconds()
        for (index, frame) in single.enumerated() {
            try publisher.socket.write(frame)
            try receiver.wait(until: deadline, for: "acknowledgement \(index + 1)") { receiver.acknowledged.load(ordering: .relaxed) > index }
        }
        let singleRate = Double(single.count) / Self.seconds(since: start)
        let cpu = broker.cpuSeconds
        start = Environment.monotonicNanoseconds()
        let acknowledged = { receiver.acknowledged.load(ordering: .relaxed) - single.count }
        try send(windowed, through: publisher, receiver: receiver, window: durableWindow, deadline: deadline, done: acknowledged)
        try receiver.wait(until: deadline, for: "the last acknowledgements") { acknowledged() >= windowed.count }
        let windowedRate = Double(windowed.count) / Self.seconds(since: start)
        try receiver.stop()
        return (singleRate, windowedRate, (broker.cpuSeconds - cpu) / Double(windowed.count) * 1e6)
    }

    /// Queues `queuedEvents` for a durable subscriber that is away, reads the broker's RSS (all of
    /// it, and the anonymous part), then measures the replay when the subscriber comes back (it
    /// acknowledges as its protocol asks).
    func offlineQueue(_ broker: BrokerProcess) throws(BenchError) -> (resident: Int, anonymous: Int, replayRate: Double) {
        let deadline = Self.deadline(timeout)
        let driver = try broker.kind.driver(port: broker.port, run: "queue")
        let publisher = try leaveDurableSubscriber(driver)
        let frames = try driver.publications(1...UInt64(queuedEvents), payload: 128, acknowledged: true, streamed: true, from: publisher)
        let filling = Receiver([publisher], subscribers: [])
        filling.start()
        defer { _ = try? filling.stop() }
        try send(frames, through: publisher, receiver: filling, window: durableWindow, deadline: deadline) {
            filling.acknowledged.load(ordering: .relaxed)
        }
        try filling.wait(until: deadline, for: "the last acknowledgements", progress: { "\(filling.acknowledged.load(ordering: .relaxed)) of \(queuedEvents) queued" }) {
            filling.acknowledged.load(ordering: .relaxed) >= frames.count
        }
        try filling.stop()
        usleep(500_000)
        let resident = broker.resident, anonymous = broker.anonymous

        let start = Environment.monotonicNanoseconds()
        let subscriber = try driver.connect(.durableSubscriber, client: "durable")
        try driver.subscribe(subscriber, durable: "durable")
        let replay = Receiver([subscriber], subscribers: [0])
        replay.start()
        defer { _ = try? replay.stop() }
        try replay.wait(until: deadline, for: "the replay", progress: { "\(replay.totalDelivered.load(ordering: .relaxed)) of \(queuedEvents) replayed" }) {
            replay.totalDelivered.load(ordering: .relaxed) >= queuedEvents
        }
        let rate = Double(queuedEvents) / Self.seconds(since: start)
        try replay.stop()
        return (resident, anonymous, rate)
    }

    /// Broker memory per connection: `idleConnections` clients connect and greet (for Polder the
    /// full Noise handshake), then stay silent.
    func idleConnections(_ broker: BrokerProcess) throws(BenchError) -> Double {
        let deadline = Self.deadline(timeout)
        let driver = try broker.kind.driver(port: broker.port, run: "idle")
        usleep(200_000)
        let before = broker.resident
        var connections: [LoadConnection] = []
        connections.reserveCapacity(idleConnections)
        var lastReport = Environment.monotonicNanoseconds()
        for index in 0..<idleConnections {
            connections.append(try driver.connect(.subscriber, client: "idle-\(index)"))
            if Environment.monotonicNanoseconds() > deadline { throw BenchError("timed out after \(index) connections") }
            if Environment.monotonicNanoseconds() - lastReport > 2_000_000_000 {
                lastReport = Environment.monotonicNanoseconds()
                Console.standardOutput("      \(index + 1) of \(idleConnections) connected")
            }
        }
        usleep(1_000_000)
        let after = broker.resident
        for connection in connections { connection.socket.close() }
        return Double(after - before) / Double(idleConnections)
    }

    /// The publisher and a durable subscriber that subscribed and went away, so that what is
    /// published next must be kept for it.
    private func leaveDurableSubscriber(_ driver: LoadDriver) throws(BenchError) -> LoadConnection {
        let publisher = try driver.connect(.publisher, client: "publisher")
        let subscriber = try driver.connect(.durableSubscriber, client: "durable")
        try driver.subscribe(subscriber, durable: "durable")
        try driver.leave(subscriber)
        usleep(100_000)  // let the broker see the connection gone
        return publisher
    }

    /// Sends `frames`, coalescing up to 64 KiB per write, keeping at most `window` beyond `done()`.
    private func send(_ frames: [[UInt8]], through publisher: LoadConnection, receiver: Receiver, window: Int? = nil,
                      deadline: UInt64, done: () -> Int) throws(BenchError) {
        let window = window ?? self.window
        var next = 0
        var batch: [UInt8] = []
        batch.reserveCapacity(80 << 10)
        while next < frames.count {
            try receiver.wait(until: deadline, for: "room in the window after \(next) events") { next - done() < window }
            let allowed = min(frames.count, done() + window)
            batch.removeAll(keepingCapacity: true)
            while next < allowed && batch.count < 64 << 10 {
                batch += frames[next]
                next += 1
            }
            try publisher.socket.write(batch)
        }
    }

    private static func deadline(_ seconds: Double) -> UInt64 {
        Environment.monotonicNanoseconds() + UInt64(seconds * 1e9)
    }

    private static func seconds(since start: UInt64) -> Double {
        Double(Environment.monotonicNanoseconds() - start) / 1e9
    }

    /// Lets this thread wake at the scheduled nanosecond rather than up to 50 µs later.
    private static func tightenTimerSlack() {
        let descriptor = open("/proc/thread-self/timerslack_ns", O_WRONLY)
        guard descriptor >= 0 else { return }
        _ = write(descriptor, "1", 1)
        close(descriptor)
    }

    private static func sleep(until target: UInt64) {
        var time = timespec(tv_sec: Int(target / 1_000_000_000), tv_nsec: Int(target % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &time, nil) == EINTR {}
    }
}

/// Latencies in nanoseconds, recorded on the receiving thread, read after it stopped.
final class LatencyRecorder: @unchecked Sendable {
    private(set) var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1_000, highestTrackableValue: 60_000_000_000,
                                                   numberOfSignificantValueDigits: .three)
    private let warmUp: UInt64

    init(warmUp: UInt64) { self.warmUp = warmUp }

    func record(number: UInt64, latency: UInt64) {
        guard number > warmUp else { return }
        _ = histogram.record(Swift.max(latency, 1_000))
    }
}
