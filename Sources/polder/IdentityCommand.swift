import ArgumentParser
import Platform
import Sodium
import Wire

struct IdentityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity", abstract: "Create and show identities (Ed25519 key pairs).",
        subcommands: [New.self, Show.self])

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a new identity and print its ID.")

        @Option(name: .long, help: ArgumentHelp("Where to write it (default: the --identity path).", valueName: "FILE"))
        var out: String?

        @OptionGroup var identityOption: IdentityOption

        @Flag(name: .long, help: "Replace an existing identity file.")
        var force = false

        func run() throws {
            let path = out ?? identityOption.identityPath
            if FileSystem.exists(path) && !force {
                throw CLIError("\(path) already exists; use --force to replace it")
            }
            let keyPair = SigningKeyPair()
            do {
                try FileSystem.createDirectory(FileSystem.directoryName(path))
                try FileSystem.writeAtomically(IdentityFile.encode(keyPair), to: path)
            } catch {
                throw CLIError("cannot write identity: \(error)")
            }
            Console.standardOutput(keyPair.publicKey.text)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the ID of an identity.")

        @Argument(help: ArgumentHelp("Identity file (default: the --identity path).", valueName: "FILE"))
        var file: String?

        @OptionGroup var identityOption: IdentityOption

        func run() throws {
            let path = file ?? identityOption.identityPath
            Console.standardOutput(try IdentityLoader.load(path).publicKey.text)
        }
    }
}
