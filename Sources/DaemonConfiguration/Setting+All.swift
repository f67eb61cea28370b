import Broker
import Wire

extension Setting {
    /// Every setting, in the order of the configuration file's sections.
    public static var all: [Setting] {
        [
            .address("listen", flag: "listen", \.broker.listen, .atRestart,
                     "Address for edge clients (port 0 picks a free port)."),
            .text("data-dir", flag: "data-dir", \.broker.dataDirectory, valueName: "DIR", .atRestart,
                  "Directory for the broker's identity and data."),
            .logLevel("log-level", flag: "log-level", .atReload,
                      "Log level: trace, debug, info, notice, warning, error or critical."),
            .integer("verifier-threads", flag: "verifier-threads", \.broker.verifierThreads, range: 0...256, .atRestart,
                     "Threads that verify signatures beside the event loop (which checks the last of each turn itself); 0, or a broker that may use one CPU only, verifies all on the loop."),

            .integer("limits.max-connections", flag: "max-connections", \.broker.maximumConnections, range: 1...1_000_000, .atReload,
                     "Most clients connected at once; more are refused."),
            .integer("limits.max-frame-size", flag: "max-frame-size", \.broker.maximumFrameLength, range: Limits.smallestFrameLimit...Limits.maximumFrameLength, .atReload,
                     "Largest frame a client may send, in bytes (the protocol's limit is 65535).", valueName: "BYTES"),
            .integer("limits.max-message-rate", flag: "max-message-rate", \.broker.maximumMessageRate, range: 0...10_000_000, .atReload,
                     "Messages per second one client may send, each message of a batch counting (0: no limit); faster clients are read more slowly."),
            .seconds("limits.idle-timeout", flag: "idle-timeout", \.broker.idleTimeout, atLeast: 60, orZero: true, .atReload,
                     "Seconds a client may send nothing, not even a ping, before it is disconnected (0: never; the client library pings after 30 to 40 s of silence)."),
            .seconds("limits.handshake-timeout", flag: "handshake-timeout", \.broker.handshakeTimeout, atLeast: 0.1, .atReload,
                     "Seconds a new connection has to complete its handshake."),
            .integer("limits.output-limit", flag: "output-limit", \.broker.outputLimit, range: 65_536...(1 << 32), .atReload,
                     "Queued output after which a client that reads nothing, not even its answers, is disconnected.",
                     valueName: "BYTES"),
            .integer("limits.delivery-buffer", flag: "delivery-buffer", \.broker.deliveryBuffer, range: 65_536...(1 << 32), .atReload,
                     "Queued output per client beyond which deliveries pause and the subscriber catches up from the store later.",
                     valueName: "BYTES"),
            .integer("limits.max-pending-publishes", flag: "max-pending-publishes", \.broker.maximumPendingPublishes,
                     range: 1...1_000_000, .atReload,
                     "Publishes per connection waiting for their check or commit beyond which the broker stops reading it."),
            .seconds("limits.shutdown-grace", flag: "shutdown-grace", \.broker.shutdownGrace, atLeast: 0, .atReload,
                     "Seconds clients get to read what is queued for them when the broker stops."),

            .integer("retention.events", flag: "retention-events", \.broker.retention.maximumEvents, range: 0...Int.max, .atRestart,
                     "Most events kept per topic (0: no limit); topics may ask for fewer."),
            .integer("retention.bytes", flag: "retention-bytes", \.broker.retention.maximumBytes, range: 0...Int.max, .atRestart,
                     "Most bytes kept per topic (0: no limit).", valueName: "BYTES"),
            .integer("retention.age", flag: "retention-age", \.broker.retention.maximumAgeSeconds, range: 0...Int.max, .atRestart,
                     "Seconds an event is kept (0: no limit).", valueName: "SECONDS"),

            .integer("sessions.quota", flag: "session-quota", \.broker.sessionQuota, range: 1...Int.max, .atReload,
                     "Most events a subscription may have waiting; older ones are skipped with notice."),
            .seconds("sessions.expiry", flag: "session-expiry", \.broker.sessionExpiry, atLeast: 1, .atReload,
                     "Seconds a durable session may stay detached before it expires."),

            .integer("store.max-size", flag: "store-max-size", \.broker.storeMaximumSize, range: (1 << 20)...Int.max, .atRestart,
                     "Most bytes the store may grow to; beyond it publishes are refused.", valueName: "BYTES"),
            .seconds("store.maintenance-interval", flag: "maintenance-interval", \.broker.maintenanceInterval, atLeast: 0.01, .atRestart,
                     "Seconds between retention, session-expiry and idle-connection passes."),

            .optionalAddress("peers.listen", flag: "peer-listen", \.broker.peerListen, .atRestart,
                             "Address for other brokers' links (port 0 picks a free port); empty: no peer listener."),
            .optionalAddress("peers.advertise", flag: "peer-advertise", \.broker.peerAdvertise, .atRestart,
                             "Address other brokers are told to reach this one at (default: the peer listener's)."),
            .addresses("peers.bootstrap", flag: "bootstrap", \.broker.bootstrap, .atReload,
                       "Peer listeners of brokers to join through; none starts a network (remembered peers are used on restart)."),
            .seconds("peers.overlay-period", flag: "overlay-period", \.broker.overlayPeriod, atLeast: 0.01, .atRestart,
                     "Seconds per overlay period (gossip, ring upkeep, repairs)."),
            .integer("peers.max-links", flag: "max-peer-links", \.broker.maximumPeerLinks, range: 1...65_536, .atReload,
                     "Most links to other brokers at once."),

            .optionalAddress("http.listen", flag: "http-listen", \.broker.httpListen, .atRestart,
                             "Address for /healthz, /metrics and /v1/info (unauthenticated: keep it on loopback); empty: off."),
        ]
    }

    /// The setting with this file key, if any.
    static func withKey(_ key: String) -> Setting? { all.first { $0.key == key } }

    /// The setting with this command-line flag (without dashes), if any.
    static func withFlag(_ flag: String) -> Setting? { all.first { $0.flag == flag } }

    /// The settings as a help section: option, key, what it does, and when a change applies.
    public static var helpText: String {
        all.map { setting in
            let reload = setting.applies == .atReload ? "; reloads on SIGHUP" : ""
            return "  --\(setting.flag) <\(setting.valueName)>\n      \(setting.help) [file: \(setting.key)\(reload)]"
        }.joined(separator: "\n")
    }
}
