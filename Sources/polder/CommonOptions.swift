import ArgumentParser
import Platform
import PolderClient
import Sodium
import Wire

/// A failure reported to the user as one line on stderr.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `--identity FILE`, with its environment variable and default: the one place that resolves it.
struct IdentityOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Identity file (env POLDER_IDENTITY; default ~/.config/polder/identity).", valueName: "FILE"))
    var identity: String?

    var identityPath: String {
        identity ?? Environment.value("POLDER_IDENTITY") ?? FileSystem.join(Environment.homeDirectory, ".config/polder/identity")
    }
}

/// Where the identity lives and which broker to use, shared by every command that connects.
struct CommonOptions: ParsableArguments {
    @OptionGroup var identityOption: IdentityOption

    @Option(name: .long, help: ArgumentHelp("Broker address (env POLDER_BROKER; default 127.0.0.1:7400).", valueName: "HOST:PORT"))
    var broker: String?

    var identityPath: String { identityOption.identityPath }

    var brokerAddress: String { broker ?? Environment.value("POLDER_BROKER") ?? "127.0.0.1:7400" }

    /// The directory beside the identity where topic keys are kept.
    var keyDirectory: String { FileSystem.directoryName(identityPath) }

    func loadIdentity() throws -> SigningKeyPair {
        try IdentityLoader.load(identityPath)
    }

    func connect(_ identity: SigningKeyPair) async throws -> PolderClient {
        do { return try await PolderClient.connect(to: brokerAddress, identity: identity) } catch {
            throw CLIError(error.message)
        }
    }

    func keys(for topic: TopicID) throws -> TopicKeys {
        do { return try TopicKeys.load(from: keyDirectory, topic: topic) } catch { throw CLIError(error.message) }
    }
}

enum IdentityLoader {
    static func load(_ path: String) throws -> SigningKeyPair {
        guard FileSystem.exists(path) else {
            throw CLIError("no identity at \(path): create one with 'polder identity new'")
        }
        do { return try IdentityFile.decode(try FileSystem.read(path)) } catch {
            throw CLIError("cannot read identity \(path): \(error)")
        }
    }
}

/// Parses an ID given on the command line.
func parseID(_ text: String, _ what: String) throws -> SigningPublicKey {
    do { return try SigningPublicKey(text: text) } catch { throw CLIError("\(what): \(error.message)") }
}
