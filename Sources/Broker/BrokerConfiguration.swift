import Wire

/// Everything `polderd` can be told; the defaults run a broker with no configuration at all.
public struct BrokerConfiguration: Sendable {
    /// Where edge clients connect (`HOST:PORT`; port 0 picks a free one).
    public var listen = "127.0.0.1:7400"
    /// Where the broker keeps its identity and data.
    public var dataDirectory = "./polder-data"
    /// Threads that verify signatures beside the event loop; 0 verifies every signature on the
    /// loop. A broker that may use one CPU only (`taskset`, a cgroup's cpuset) verifies on the
    /// loop whatever is set: threads sharing the loop's CPU would add only wake-ups.
    public var verifierThreads = 2
    /// Queued output per client beyond which it is disconnected (a client that does not read
    /// even its answers). Deliveries stop long before, at `deliveryBuffer`.
    public var outputLimit = 8 << 20
    /// Queued output per client beyond which deliveries pause and the subscriber falls back to
    /// reading from its stored position once it drains.
    public var deliveryBuffer = 1 << 20
    /// Publishes per connection waiting for verification or commit beyond which the broker stops
    /// reading from that connection.
    public var maximumPendingPublishes = 4096
    /// Seconds a new connection has to finish its handshake.
    public var handshakeTimeout = 10.0
    /// Most clients connected at once; further connections are closed at once.
    public var maximumConnections = 10_000
    /// Largest frame a client may send (at most the protocol's 65,535); larger is error 2.
    public var maximumFrameLength = Limits.maximumFrameLength
    /// Messages per second one client may send, each message of a batch counting (0: no limit);
    /// beyond it the broker reads that
    /// connection more slowly (TCP back-pressure), it does not drop anything.
    public var maximumMessageRate = 20_000
    /// Seconds a client may send nothing (not even a ping) before it is disconnected (0: never).
    public var idleTimeout = 300.0
    /// Seconds to let clients drain on shutdown before closing anyway.
    public var shutdownGrace = 2.0
    /// The broker's retention limits per topic (0: no limit); a topic may ask for less.
    public var retention = Retention(maximumEvents: 1_000_000, maximumBytes: 1 << 30, maximumAgeSeconds: 7 * 24 * 3600)
    /// Most events a subscription may have waiting; beyond it the oldest are skipped, with notice.
    public var sessionQuota: UInt64 = 1_000_000
    /// Seconds a durable session may stay detached before it expires.
    public var sessionExpiry = 7 * 24 * 3600.0
    /// The most bytes the store's map may grow to; beyond it publishes are refused.
    public var storeMaximumSize = 1 << 40
    /// Seconds between retention and session-expiry passes.
    public var maintenanceInterval = 1.0
    /// Where other brokers connect (`HOST:PORT`); nil: no peer listener (the broker can still link
    /// out to its bootstrap peers).
    public var peerListen: String?
    /// The `HOST:PORT` other brokers are told to reach this one at; nil: the peer listener's address.
    public var peerAdvertise: String?
    /// Peer listeners of brokers to join through; empty with no remembered peers: start a network.
    public var bootstrap: [String] = []
    /// Seconds per overlay period (gossip, ring upkeep, repairs).
    public var overlayPeriod = 1.0
    /// Most links to other brokers at once.
    public var maximumPeerLinks = 256
    /// Where `/healthz`, `/metrics` and `/v1/info` are served over HTTP; nil: not at all.
    public var httpListen: String?

    /// Takes the settings that may change while the broker runs (limits, quotas, bootstrap list)
    /// from `new`, leaving the rest as they are.
    public mutating func takeReloadable(from new: BrokerConfiguration) {
        outputLimit = new.outputLimit
        deliveryBuffer = new.deliveryBuffer
        maximumPendingPublishes = new.maximumPendingPublishes
        handshakeTimeout = new.handshakeTimeout
        maximumConnections = new.maximumConnections
        maximumFrameLength = new.maximumFrameLength
        maximumMessageRate = new.maximumMessageRate
        idleTimeout = new.idleTimeout
        shutdownGrace = new.shutdownGrace
        sessionQuota = new.sessionQuota
        sessionExpiry = new.sessionExpiry
        bootstrap = new.bootstrap
        maximumPeerLinks = new.maximumPeerLinks
    }

    public init() {}
}
