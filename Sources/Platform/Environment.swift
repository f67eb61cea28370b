#if canImport(Glibc)
import CMalloc
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Process environment and clocks.
public enum Environment {
    /// The value of an environment variable, or nil when unset or empty.
    public static func value(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let string = String(cString: value)
        return string.isEmpty ? nil : string
    }

    /// The user's home directory.
    public static var homeDirectory: String {
        value("HOME") ?? "/"
    }

    /// Nanoseconds on a monotonic clock, for measuring durations.
    public static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// CPUs the calling thread may run on (its affinity mask, as `taskset` or a cgroup's cpuset
    /// sets it, among those online), at least 1. CPU quotas (`cpu.max`) do not count here.
    public static var usableCPUs: Int {
        let online = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        guard let status = try? FileSystem.readText("/proc/thread-self/status"), let allowed = cpuCount(allowedIn: status) else {
            return online
        }
        // The mask may name CPUs that are possible but offline.
        return max(1, min(allowed, online))
    }

    /// The CPUs a `/proc/…/status` text allows: the bits set in its `Cpus_allowed:` mask
    /// (hexadecimal, in comma-separated groups of 32 bits); nil without that line or bits.
    public static func cpuCount(allowedIn status: String) -> Int? {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return nil }
        let count = line.dropFirst("Cpus_allowed:".count).reduce(0) { $0 + ($1.hexDigitValue ?? 0).nonzeroBitCount }
        return count > 0 ? count : nil
    }

    /// Milliseconds since the Unix epoch, for event timestamps.
    public static func wallClockMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }

    /// Makes the C allocator merge small freed blocks with their neighbours, for a process that
    /// keeps many small long-lived objects made among short-lived ones (a broker's connections):
    /// glibc's fastbins never merge, so the blocks each handshake freed stayed as holes between
    /// the ones a connection keeps. Its per-thread cache still serves the sizes in constant use.
    public static func coalesceSmallFreedBlocks() {
        #if canImport(Glibc)
        mallopt(M_MXFAST, 0)
        #endif
    }
}
