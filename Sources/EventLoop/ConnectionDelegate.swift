/// What a `Connection` tells its owner, on the connection's loop thread.
public protocol ConnectionDelegate: AnyObject {
    /// A complete frame body arrived.
    func connection(_ connection: Connection, received frame: [UInt8])
    /// The connection ended, however it ended (not after its owner called `close()`); once only.
    func connection(_ connection: Connection, closedBecause reason: Connection.CloseReason)
    /// Queued output fell to the write low-water mark, after `notifyWhenDrained()` asked.
    func connectionDrained(_ connection: Connection)
    /// Queued output passed the output limit: the peer does not read.
    func connectionOverflowed(_ connection: Connection)
    /// A frame's length prefix exceeds the limit; reading has stopped. The owner may send an error
    /// and `closeAfterFlush()`; by default the connection closes.
    func connection(_ connection: Connection, refusedFrameOf length: Int)
}

extension ConnectionDelegate {
    public func connectionDrained(_ connection: Connection) {}

    public func connectionOverflowed(_ connection: Connection) {}

    public func connection(_ connection: Connection, refusedFrameOf length: Int) {
        connection.finish(.frameTooLarge(length: length, limit: connection.maximumFrameLength))
    }
}
