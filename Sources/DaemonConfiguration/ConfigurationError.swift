/// A configuration that cannot be used: each problem names where it is (file or command line)
/// and the key or option, so the operator can fix them all in one go.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        /// `polderd.toml`, `polderd.toml:3:7` or `command line`.
        public let place: String
        /// The key (`limits.max-connections`) or option (`--max-connections`), when one is at fault.
        public let key: String?
        public let message: String

        public var description: String {
            [place, key].compactMap { $0 }.joined(separator: ": ") + ": " + message
        }
    }

    public let problems: [Problem]

    public init(_ problems: [Problem]) { self.problems = problems }

    public init(place: String, key: String?, _ message: String) {
        problems = [Problem(place: place, key: key, message: message)]
    }

    public var description: String {
        problems.map(\.description).joined(separator: "\n")
    }
}
