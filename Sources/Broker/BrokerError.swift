/// A broker that cannot start or go on, with the reason for the operator.
public struct BrokerError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
