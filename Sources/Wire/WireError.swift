/// Bytes from the network or disk that do not form a valid Polder structure.
public struct WireError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The input ended before the structure did.
        case truncated
        /// A field has a value the protocol does not allow.
        case invalidValue
        /// Bytes remain after a complete structure.
        case trailingBytes
        /// A length or count exceeds a protocol limit.
        case limitExceeded
        /// A signature does not verify.
        case badSignature
        /// An unknown message tag or structure version.
        case unsupported
        /// A Noise handshake or transport step failed.
        case handshakeFailed
        /// Decryption failed.
        case decryptionFailed
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
