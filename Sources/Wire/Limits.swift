/// Protocol-wide limits (protocol/README.md, "Limits"). Receivers enforce them before allocating.
public enum Limits {
    /// Largest frame body on the wire: a Noise message (65535 bytes, the Noise maximum).
    public static let maximumFrameLength = 65_535
    /// The lowest frame limit a broker may be configured with (`max-frame-size`).
    public static let smallestFrameLimit = 4096
    /// Largest plaintext inside one transport frame.
    public static let maximumMessageLength = maximumFrameLength - ChaChaPolyTagLength.value
    /// Largest encoded signed event.
    public static let maximumEventLength = 64 * 1024 - 1024
    /// Highest event sequence number, 2^63 − 1: sequence arithmetic (`+ 1` for the next one) never
    /// overflows, and a publisher cannot run out.
    public static let maximumSequence = UInt64(Int64.max)
    /// Most chained (unsigned) events in a row before a signed one (§6.4).
    public static let maximumChainLength = 256
    /// Most bytes the chained events of one run may total, encoded (§6.4): what a broker holds
    /// unverified for one client's open chain.
    public static let maximumChainBytes = 256 * 1024
    /// Most direct dependencies one event may list.
    public static let maximumDependencies = 32
    /// Largest encrypted payload inside an event: what is left of `maximumEventLength` after the
    /// fixed fields (163 bytes with the signature) and the most dependencies.
    public static let maximumPayloadLength = maximumEventLength - 163 - 32 * maximumDependencies
    /// Largest encoded signed topic descriptor.
    public static let maximumDescriptorLength = maximumMessageLength - 64
    /// Longest topic name, in UTF-8 bytes.
    public static let maximumTopicNameLength = 255
    /// Most owners, publishers or readers one descriptor may list.
    public static let maximumDescriptorMembers = 400
    /// Longest durable session name, in UTF-8 bytes.
    public static let maximumSessionNameLength = 64
    /// Longest error text, in UTF-8 bytes.
    public static let maximumErrorTextLength = 1024
    /// Longest `host:port` in a broker profile, in UTF-8 bytes.
    public static let maximumAddressLength = 255
    /// Largest topic filter in a broker profile: 2^15 bits (4 KiB), 16 bits per topic for 2,048 topics.
    public static let maximumProfileFilterLog2 = 15
    /// Largest encoded signed broker profile.
    public static let maximumProfileLength = 4608
    /// Most view entries in one overlay exchange (12 largest profiles fit one frame).
    public static let maximumViewEntries = 12
    /// Most event IDs in one request or answer.
    public static let maximumRequestedIDs = 512
    /// Most publisher heads in one sync request.
    public static let maximumSyncHeads = 1024
}

enum ChaChaPolyTagLength {
    static let value = 16
}
