/// An event loop, socket or timer operation that failed, with the reason.
public struct EventLoopError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
