/// A cryptographic operation that could not be completed, with a message for the person reading it.
public struct SodiumError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, for callers that branch on it.
    public enum Kind: Sendable, Equatable {
        case libraryUnavailable
        case invalidLength
        case invalidSignature
        case authenticationFailed
        case weakPublicKey
        case keyDerivationFailed
        case outOfMemory
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static func checkLength(_ bytes: some Collection<UInt8>, _ expected: Int, _ what: String) throws(SodiumError) {
        guard bytes.count == expected else {
            throw SodiumError(.invalidLength, "\(what) must be \(expected) bytes, got \(bytes.count)")
        }
    }
}
