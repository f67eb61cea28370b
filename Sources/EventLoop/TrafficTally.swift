/// Bytes and frames that a group of connections moved, for metrics. Used on one loop only.
public final class TrafficTally {
    public var bytesReceived: UInt64 = 0
    public var bytesSent: UInt64 = 0
    public var framesReceived: UInt64 = 0
    public var framesSent: UInt64 = 0

    public init() {}
}
