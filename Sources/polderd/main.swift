import ArgumentParser
import Broker
import Wire
import Logging

/// `polderd`: the Polder broker daemon.
struct Polderd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polderd",
        abstract: "The Polder broker: stores and forwards end-to-end encrypted events for edge clients.",
        discussion: """
            With no options it listens on 127.0.0.1:7400, keeps its data in ./polder-data and creates its \
            identity there on first start. SIGTERM or SIGINT shut it down cleanly.
            """)

    @Option(name: .long, help: ArgumentHelp("Address for edge clients (port 0 picks a free port).", valueName: "HOST:PORT"))
    var listen = BrokerConfiguration().listen

    @Option(name: .long, help: ArgumentHelp("Directory for the broker's identity and data.", valueName: "DIR"))
    var dataDir = BrokerConfiguration().dataDirectory

    @Option(name: .long, help: ArgumentHelp("Threads that verify signatures off the event loop.", valueName: "N"))
    var verifierThreads = BrokerConfiguration().verifierThreads

    @Option(name: .long, help: ArgumentHelp("Queued output after which a client that reads nothing, not even its answers, is disconnected.", valueName: "BYTES"))
    var outputLimit = BrokerConfiguration().outputLimit

    @Option(name: .long, help: ArgumentHelp("Most clients connected at once.", valueName: "N"))
    var maxConnections = BrokerConfiguration().maximumConnections

    @Option(name: .long, help: ArgumentHelp("Seconds a new connection has to complete its handshake.", valueName: "SECONDS"))
    var handshakeTimeout = BrokerConfiguration().handshakeTimeout

    @Option(name: .long, help: ArgumentHelp("Queued output per client beyond which deliveries pause and the subscriber catches up from the store later.", valueName: "BYTES"))
    var deliveryBuffer = BrokerConfiguration().deliveryBuffer

    @Option(name: .long, help: ArgumentHelp("Most events kept per topic (0: no limit); topics may ask for fewer.", valueName: "N"))
    var retentionEvents = BrokerConfiguration().retention.maximumEvents

    @Option(name: .long, help: ArgumentHelp("Most bytes kept per topic (0: no limit).", valueName: "BYTES"))
    var retentionBytes = BrokerConfiguration().retention.maximumBytes

    @Option(name: .long, help: ArgumentHelp("Seconds an event is kept (0: no limit).", valueName: "SECONDS"))
    var retentionAge = BrokerConfiguration().retention.maximumAgeSeconds

    @Option(name: .long, help: ArgumentHelp("Most events a subscription may have waiting; older ones are skipped with notice.", valueName: "N"))
    var sessionQuota = BrokerConfiguration().sessionQuota

    @Option(name: .long, help: ArgumentHelp("Seconds a durable session may stay detached before it expires.", valueName: "SECONDS"))
    var sessionExpiry = BrokerConfiguration().sessionExpiry

    @Option(name: .long, help: ArgumentHelp("Most bytes the store may grow to; beyond it publishes are refused.", valueName: "BYTES"))
    var storeMaxSize = BrokerConfiguration().storeMaximumSize

    @Option(name: .long, help: ArgumentHelp("Seconds between retention and session-expiry passes.", valueName: "SECONDS"))
    var maintenanceInterval = BrokerConfiguration().maintenanceInterval

    @Option(name: .long, help: ArgumentHelp("Address for other brokers' links (port 0 picks a free port); none: no peer listener.", valueName: "HOST:PORT"))
    var peerListen: String?

    @Option(name: .long, help: ArgumentHelp("Address other brokers are told to reach this one at (default: the peer listener's).", valueName: "HOST:PORT"))
    var peerAdvertise: String?

    @Option(name: .long, help: ArgumentHelp("Peer listeners of brokers to join through, comma-separated; none starts a network (remembered peers are used on restart).", valueName: "HOST:PORT[,...]"))
    var bootstrap = ""

    @Option(name: .long, help: ArgumentHelp("Seconds per overlay period (gossip, ring upkeep, repairs).", valueName: "SECONDS"))
    var overlayPeriod = BrokerConfiguration().overlayPeriod

    @Option(name: .long, help: ArgumentHelp("Most links to other brokers at once.", valueName: "N"))
    var maxPeerLinks = BrokerConfiguration().maximumPeerLinks

    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error or critical.", valueName: "LEVEL"))
    var logLevel = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("unknown log level '\(logLevel)'; use trace, debug, info, notice, warning, error or critical")
        }
        guard verifierThreads >= 1 else { throw ValidationError("--verifier-threads must be at least 1") }
        guard outputLimit >= 65_536 else { throw ValidationError("--output-limit must be at least 65536") }
        guard handshakeTimeout > 0 else { throw ValidationError("--handshake-timeout must be positive") }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
        guard deliveryBuffer >= 65_536, deliveryBuffer < outputLimit else {
            throw ValidationError("--delivery-buffer must be at least 65536 and below --output-limit")
        }
        guard sessionQuota >= 1 else { throw ValidationError("--session-quota must be at least 1") }
        guard sessionExpiry > 0 else { throw ValidationError("--session-expiry must be positive") }
        guard storeMaxSize >= 1 << 20 else { throw ValidationError("--store-max-size must be at least 1048576") }
        guard maintenanceInterval > 0 else { throw ValidationError("--maintenance-interval must be positive") }
        guard overlayPeriod >= 0.01 else { throw ValidationError("--overlay-period must be at least 0.01") }
        guard maxPeerLinks >= 1 else { throw ValidationError("--max-peer-links must be at least 1") }
        for address in bootstrapAddresses where address.split(separator: ":").count < 2 {
            throw ValidationError("--bootstrap: '\(address)' is not HOST:PORT")
        }
        if let peerAdvertise, peerAdvertise.utf8.count > 255 || peerAdvertise.split(separator: ":").count < 2 {
            throw ValidationError("--peer-advertise: '\(peerAdvertise)' is not HOST:PORT of at most 255 bytes")
        }
    }

    private var bootstrapAddresses: [String] {
        bootstrap.split(separator: ",").map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty }
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var configuration = BrokerConfiguration()
        configuration.listen = listen
        configuration.dataDirectory = dataDir
        configuration.verifierThreads = verifierThreads
        configuration.outputLimit = outputLimit
        configuration.maximumConnections = maxConnections
        configuration.handshakeTimeout = handshakeTimeout
        configuration.deliveryBuffer = deliveryBuffer
        configuration.retention = Retention(maximumEvents: retentionEvents, maximumBytes: retentionBytes, maximumAgeSeconds: retentionAge)
        configuration.sessionQuota = sessionQuota
        configuration.sessionExpiry = sessionExpiry
        configuration.storeMaximumSize = storeMaxSize
        configuration.maintenanceInterval = maintenanceInterval
        configuration.peerListen = peerListen
        configuration.peerAdvertise = peerAdvertise
        configuration.bootstrap = bootstrapAddresses
        configuration.overlayPeriod = overlayPeriod
        configuration.maximumPeerLinks = maxPeerLinks
        do {
            try BrokerDaemon.run(configuration: configuration, logger: Logger(label: "polderd"))
        } catch {
            throw error  // printed as one line on stderr; exit status 1
        }
    }
}

Polderd.main()
