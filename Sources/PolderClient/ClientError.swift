import Wire

/// Why a client operation failed, phrased for the person running the client.
public struct ClientError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// No TCP connection could be made.
        case unreachable
        /// The connection was made but the secure handshake failed.
        case handshakeFailed
        /// The broker answered the request with an error.
        case refused(ErrorCode)
        /// The connection ended before the answer came.
        case connectionLost
        /// No answer in time.
        case timeout
        /// The broker sent something the protocol does not allow.
        case protocolViolation
        /// The application asked for something the protocol cannot carry.
        case invalidArgument
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
