import Wire

/// Everything `polderd` can be told; the defaults run a broker with no configuration at all.
public struct BrokerConfiguration: Sendable {
    /// Where edge clients connect (`HOST:PORT`; port 0 picks a free one).
    public var listen = "127.0.0.1:7400"
    /// Where the broker keeps its identity and data.
    public var dataDirectory = "./polder-data"
    /// Threads that verify signatures off the event loop.
    public var verifierThreads = 2
    /// Queued output per client beyond which it is a slow consumer and is disconnected.
    public var outputLimit = 8 << 20
    /// Seconds a new connection has to finish its handshake.
    public var handshakeTimeout = 10.0
    /// Most clients connected at once; further connections are closed at once.
    public var maximumConnections = 10_000
    /// Seconds to let clients drain on shutdown before closing anyway.
    public var shutdownGrace = 2.0

    public init() {}
}
