import ArgumentParser
import Platform
import PolderClient
import Sodium
import Wire

struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pub",
        abstract: "Encrypt and publish events; prints '<sequence> <event ID>' for each one the broker acknowledged.")

    @Argument(help: "The topic ID.")
    var topic: String

    @Argument(help: "The message (or use --stdin).")
    var message: String?

    @Flag(name: .long, help: "Publish one event per line of standard input.")
    var stdin = false

    @Option(name: .long, help: ArgumentHelp("Seconds after which brokers drop the event if it was not delivered (default: never).", valueName: "SECONDS"))
    var ttl: Double?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (message != nil) != stdin else { throw ValidationError("give a MESSAGE or --stdin, not both or neither") }
        if let ttl, ttl <= 0 { throw ValidationError("--ttl must be positive") }
    }

    func run() async throws {
        let topicID = try parseID(topic, "topic")
        let identity = try common.loadIdentity()
        var keys = try common.keys(for: topicID)
        let client = try await common.connect(identity)
        defer { client.close() }
        let (signedDescriptor, brokerHead): (SignedTopicDescriptor, PublisherHead?)
        do { (signedDescriptor, brokerHead) = try await client.getTopic(topicID) } catch { throw CLIError(error.message) }
        let access = TopicAccess(descriptor: signedDescriptor.descriptor, identity: identity, keys: keys)
        guard access.mayPublish else {
            throw CLIError("\(identity.publicKey.text) is not allowed to publish on topic \(topicID.text)")
        }
        // Continue after the later of what the broker and this machine remember.
        var head = [brokerHead, keys.lastPublished].compactMap { $0 }.max { $0.sequence < $1.sequence }

        func publish(_ text: String) async throws {
            let sequence = (head?.sequence ?? 0) + 1
            let event: SignedEvent
            do {
                let now = Environment.wallClockMilliseconds()
                event = try access.makeEvent(Array(text.utf8), sequence: sequence, dependencies: head.map { [$0.eventID] } ?? [],
                                             time: now, expiry: ttl.map { now + UInt64($0 * 1000) } ?? 0)
            } catch { throw CLIError(error.message) }
            do { try await client.publish(event) } catch { throw CLIError(error.message) }
            head = PublisherHead(sequence: sequence, eventID: event.id)
            keys.lastPublished = head
            Console.standardOutput("\(sequence) \(event.id)")
        }

        defer { try? keys.save(to: common.keyDirectory) }
        if let message {
            try await publish(message)
        } else {
            while let line = readLine(strippingNewline: true) {
                try await publish(line)
            }
        }
    }
}
