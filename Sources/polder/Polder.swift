import ArgumentParser

/// `polder`: the command-line client.
@main
struct Polder: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polder",
        abstract: "Polder client: identities, topics, and end-to-end encrypted publish/subscribe.",
        subcommands: [IdentityCommand.self, TopicCommand.self, PublishCommand.self, SubscribeCommand.self])
}
