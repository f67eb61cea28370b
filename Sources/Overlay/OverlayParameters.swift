/// The overlay's tunables. Defaults follow the independent PolderCast implementation in
/// `REFERENCES.md` (CYCLON 20, VICINITY 20, gossip 10) with the ring size the design fixes.
public struct OverlayParameters: Sendable {
    /// CYCLON view size and entries exchanged per shuffle.
    public var samplingViewSize = 20
    public var shuffleLength = 8
    /// VICINITY view size and entries exchanged.
    public var clusterViewSize = 20
    public var clusterGossipLength = 10
    /// Ring neighbours kept on each side per topic.
    public var ringSide = 2
    /// Candidates exchanged in a ring exchange.
    public var ringGossipLength = 8
    /// PolderCast fanout F: targets per forward, ring neighbours included.
    public var fanout = 5
    /// The seen-cache: event IDs remembered as delivered without asking the archive. Events are
    /// forwarded when delivered, and delivered once, so this is also what forwards each once.
    public var recentlyDeliveredSize = 65_536
    /// Events held waiting for their dependencies before the newest are let go (and re-fetched by sync).
    public var maximumHeldEvents = 100_000
    /// Every this many periods, each topic is synced with one ring neighbour (anti-entropy).
    public var syncEveryPeriods = 10
    /// Events sent in answer to one sync before the answer says "more".
    public var syncBatch = 512
    /// Bounds of the delay before missing events are requested, in ms, and of its back-off.
    public var minimumRepairDelay: UInt64 = 20
    public var maximumRepairDelay: UInt64 = 10_000
    /// Requests for a missing dependency before it is taken as unavailable everywhere.
    public var dependencyAttempts = 8

    public init() {}
}
