import Logging
import Platform

/// The daemon's log level, shared by every logger so that SIGHUP can change it.
final class LogLevelControl: @unchecked Sendable {
    private let lock = PthreadMutex()
    private var level: Logger.Level

    init(_ level: Logger.Level) { self.level = level }

    var current: Logger.Level {
        get { lock.withLock { level } }
        set { lock.withLock { level = newValue } }
    }
}

/// Log lines to standard error (journald takes them from there under systemd), filtered by the
/// shared, reloadable level.
struct DaemonLogHandler: LogHandler {
    private var output: StreamLogHandler
    private let control: LogLevelControl

    init(label: String, control: LogLevelControl) {
        output = StreamLogHandler.standardError(label: label)
        output.logLevel = .trace  // filtering happens here, against the shared level
        self.control = control
    }

    var logLevel: Logger.Level {
        get { control.current }
        set { control.current = newValue }
    }

    var metadata: Logger.Metadata {
        get { output.metadata }
        set { output.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { output[metadataKey: key] }
        set { output[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        output.log(event: event)
    }
}
