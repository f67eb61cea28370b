import Broker
import DaemonConfiguration
import EventLoop
import Logging
import Platform
#if canImport(Glibc)
import Glibc
#endif

/// Runs one broker as a service: tells systemd when it is ready, reloading or stopping, pings
/// its watchdog from the event loop, reloads the configuration on SIGHUP and shuts down cleanly
/// on SIGTERM or SIGINT.
final class Daemon {
    private var settings: DaemonSettings
    private let file: String?
    private let commandLine: [String]
    private let levelControl: LogLevelControl
    private let logger: Logger
    private let serviceManager = ServiceManager()

    init(settings: DaemonSettings, file: String?, commandLine: [String]) {
        self.settings = settings
        self.file = file
        self.commandLine = commandLine
        let control = LogLevelControl(settings.logLevel)
        levelControl = control
        LoggingSystem.bootstrap { label in DaemonLogHandler(label: label, control: control) }
        logger = Logger(label: "polderd")
    }

    func run() throws(BrokerError) {
        Environment.coalesceSmallFreedBlocks()
        let identity = try BrokerIdentity.loadOrCreate(dataDirectory: settings.broker.dataDirectory)
        let loop: EventLoop
        do { loop = try EventLoop() } catch { throw BrokerError(error.message) }
        let broker = try Broker(identity: identity, configuration: settings.broker, loop: loop, logger: logger)
        var stopping = false
        let stop = { [logger, serviceManager] (name: String) in
            guard !stopping else { return }
            stopping = true
            logger.notice("received \(name): shutting down")
            serviceManager.stopping()
            broker.shutdown { loop.stop() }
        }
        let watchers = [
            SignalWatcher(loop: loop, signal: SIGTERM) { stop("SIGTERM") },
            SignalWatcher(loop: loop, signal: SIGINT) { stop("SIGINT") },
            SignalWatcher(loop: loop, signal: SIGHUP) { [unowned self] in if !stopping { reload(broker) } },
        ]
        // A parent may have started us with these signals blocked (the mask is inherited). They are
        // watched before the listener opens: whoever sees "listening on" may signal at once.
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        let address = try broker.start()
        var watchdog: Timer?
        if let interval = serviceManager.watchdogInterval {
            // Pinged from the loop itself: a loop that hangs stops the pings and systemd restarts us.
            let timer = Timer(loop: loop, repeating: true) { [serviceManager] in serviceManager.watchdog() }
            timer.schedule(after: interval / 2)
            watchdog = timer
            logger.info("systemd watchdog: pinging every \(interval / 2) s")
        }
        serviceManager.ready(status: "serving clients on \(address)")
        // The watchers must outlive the loop: an optimized build may free a value after its last
        // use, and with them freed a signal kills the daemon instead of stopping it.
        withExtendedLifetime(watchers) { loop.run() }
        watchdog?.cancel()
        broker.closeStore()
        let statistics = broker.statistics
        logger.notice("stopped: \(statistics.eventsAccepted) event(s) accepted, \(statistics.eventsDelivered) delivered, \(statistics.commits) commit(s)")
    }

    /// Reads the configuration again and applies what may change at run time; a configuration
    /// that does not parse changes nothing.
    private func reload(_ broker: Broker) {
        serviceManager.reloading()
        logger.notice("received SIGHUP: reloading \(file ?? "the configuration (no file: only the command line)")")
        let new: DaemonSettings
        do {
            new = try DaemonSettings.resolve(file: file, commandLine: commandLine)
        } catch {
            logger.error("reload failed, the running configuration stays:\n\(error)")
            serviceManager.ready(status: "reload failed; running on the previous configuration")
            return
        }
        let changed = new.differences(from: settings)
        var applied: [String] = []
        for setting in changed {
            let change = "\(setting.key) from \(setting.value(in: settings)) to \(setting.value(in: new))"
            if setting.applies == .atRestart {
                logger.warning("\(change) needs a restart of polderd; the running value stays")
            } else {
                applied.append(change)
            }
        }
        settings.takeReloadable(from: new)
        levelControl.current = settings.logLevel
        broker.reconfigure(settings.broker)
        logger.notice("configuration reloaded: \(applied.isEmpty ? "nothing to change" : "changed " + applied.joined(separator: ", "))")
        serviceManager.ready(status: "serving clients; configuration reloaded")
    }
}
