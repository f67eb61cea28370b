#if canImport(Glibc)
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
    /// sets it), at least 1; the online CPUs when the kernel does not say.
    public static var usableCPUs: Int {
        // `Cpus_allowed:` is the mask in hexadecimal, in comma-separated groups of 32 bits.
        if let status = try? FileSystem.readText("/proc/thread-self/status"),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) {
            let digits = line.dropFirst("Cpus_allowed:".count).filter(\.isHexDigit)
            let count = digits.reduce(0) { $0 + ($1.hexDigitValue ?? 0).nonzeroBitCount }
            if count > 0 { return count }
        }
        return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// Milliseconds since the Unix epoch, for event timestamps.
    public static func wallClockMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }
}
