import EventLoop
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Runs a broker on the calling thread until SIGTERM or SIGINT: what `polderd` does.
public enum BrokerDaemon {
    public static func run(configuration: BrokerConfiguration, logger: Logger) throws(BrokerError) {
        let identity = try BrokerIdentity.loadOrCreate(dataDirectory: configuration.dataDirectory)
        let loop: EventLoop
        do { loop = try EventLoop() } catch { throw BrokerError(error.message) }
        let broker = try Broker(identity: identity, configuration: configuration, loop: loop, logger: logger)
        try broker.start()
        // A parent may have started us with these signals blocked (the mask is inherited).
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        let stop = { (name: String) in
            logger.info("received \(name)")
            broker.shutdown { loop.stop() }
        }
        let watchers = [
            SignalWatcher(loop: loop, signal: SIGTERM) { stop("SIGTERM") },
            SignalWatcher(loop: loop, signal: SIGINT) { stop("SIGINT") },
        ]
        loop.run()
        _ = watchers
        broker.closeStore()
        let statistics = broker.statistics
        logger.info("stopped: \(statistics.eventsAccepted) event(s) accepted, \(statistics.eventsDelivered) delivered, \(statistics.commits) commit(s)")
    }
}
