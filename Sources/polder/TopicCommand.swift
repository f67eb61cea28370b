import ArgumentParser
import Platform
import PolderClient
import Sodium
import Wire

struct TopicCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topic", abstract: "Create and inspect topics.", subcommands: [Create.self, Show.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a topic on the broker and print its ID; you are its owner, a publisher and a reader.")

        @Argument(help: "A name for people; the topic is addressed by its ID.")
        var name: String

        @Flag(name: .long, help: "Let anyone publish (otherwise only you and --publisher IDs).")
        var open = false

        @Option(name: .long, help: ArgumentHelp("An identity allowed to publish (repeatable).", valueName: "ID"))
        var publisher: [String] = []

        @Option(name: .long, help: ArgumentHelp("An identity allowed to read (repeatable).", valueName: "ID"))
        var reader: [String] = []

        @OptionGroup var common: CommonOptions

        func run() async throws {
            let publishers = try publisher.map { try parseID($0, "--publisher") }
            let readers = try reader.map { try parseID($0, "--reader") }
            let identity = try common.loadIdentity()
            let (descriptor, keys): (SignedTopicDescriptor, TopicKeys)
            do {
                (descriptor, keys) = try NewTopic.make(name: name, owner: identity, openPublishing: open, publishers: publishers, readers: readers)
            } catch { throw CLIError(error.message) }
            let client = try await common.connect(identity)
            defer { client.close() }
            do { try await client.putTopic(descriptor) } catch { throw CLIError(error.message) }
            do { try keys.save(to: common.keyDirectory) } catch { throw CLIError(error.message) }
            Console.standardOutput(descriptor.descriptor.topic.text)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a topic's descriptor as the broker holds it.")

        @Argument(help: "The topic ID.")
        var topic: String

        @OptionGroup var common: CommonOptions

        func run() async throws {
            let topicID = try parseID(topic, "topic")
            let identity = try common.loadIdentity()
            let client = try await common.connect(identity)
            defer { client.close() }
            let descriptor: TopicDescriptor
            do { descriptor = try await client.getTopic(topicID).descriptor.descriptor } catch { throw CLIError(error.message) }
            Console.standardOutput("topic      \(descriptor.topic.text)")
            Console.standardOutput("name       \(descriptor.name)")
            Console.standardOutput("revision   \(descriptor.revision)")
            Console.standardOutput("epoch      \(descriptor.epoch)")
            for owner in descriptor.owners { Console.standardOutput("owner      \(owner.text)") }
            if descriptor.openPublishing { Console.standardOutput("publishers anyone") }
            for publisher in descriptor.publishers { Console.standardOutput("publisher  \(publisher.text)") }
            for reader in descriptor.readers { Console.standardOutput("reader     \(reader.reader.text)") }
        }
    }
}
