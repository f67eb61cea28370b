import ArgumentParser
import Platform
import PolderClient
import Sodium
import Wire

struct SubscribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sub", abstract: "Subscribe to a topic and print each decrypted message on its own line.",
        discussion: """
            With --durable NAME the broker keeps a session: events published while you are away wait for \
            you, and the next 'polder sub --durable NAME' resumes after the last event printed. Events the \
            broker had to drop (expiry, retention, quota) are reported on stderr.
            """)

    @Argument(help: "The topic ID.")
    var topic: String

    @Option(name: .long, help: ArgumentHelp("Create or resume the durable session NAME on the broker.", valueName: "NAME"))
    var durable: String?

    @Option(name: .long, help: ArgumentHelp(StartOption.help, valueName: "WHERE"))
    var since: StartOption?

    @Option(name: .long, help: ArgumentHelp("Exit after this many events.", valueName: "N"))
    var count: Int?

    @Option(name: .long, help: ArgumentHelp("Exit after this many seconds (non-zero status if --count was not reached).", valueName: "SECONDS"))
    var timeout: Double?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive") }
        if let durable, durable.isEmpty || durable.utf8.count > Limits.maximumSessionNameLength {
            throw ValidationError("--durable takes a name of 1 to \(Limits.maximumSessionNameLength) bytes")
        }
    }

    func run() async throws {
        let topicID = try parseID(topic, "topic")
        let identity = try common.loadIdentity()
        let keys = try common.keys(for: topicID)
        let client = try await common.connect(identity)
        defer { client.close() }
        let descriptor: TopicDescriptor
        do { descriptor = try await client.getTopic(topicID).descriptor.descriptor } catch { throw CLIError(error.message) }
        let access = TopicAccess(descriptor: descriptor, identity: identity, keys: keys)
        guard access.isReader else {
            throw CLIError("\(identity.publicKey.text) is not a reader of topic \(topicID.text)")
        }
        try? access.keys.save(to: common.keyDirectory)  // remember the epoch secret for later
        let subscription: Subscription
        do {
            subscription = try await client.subscribe(topicID, from: since?.start ?? .live, durableName: durable ?? "")
        } catch { throw CLIError(error.message) }
        if let durable {
            Console.standardError("polder: \(subscription.resumed ? "resumed" : "opened") durable session '\(durable)' on \(topicID.text) at position \(subscription.position)")
        } else {
            Console.standardError("polder: subscribed to \(topicID.text)")
        }

        let wanted = count
        let received = try await withThrowingTaskGroup(of: Int?.self) { group in
            group.addTask {
                var received = 0
                for await message in subscription {
                    switch message {
                    case let .dropped(reason, count):
                        Console.standardError("polder: the broker dropped \(count) event(s): \(reason.name)")
                    case let .event(event, position):
                        do throws(ClientError) {
                            let plaintext = try access.decrypt(event)
                            Console.standardOutput(String(decoding: plaintext, as: UTF8.self))
                        } catch {
                            Console.standardError("polder: skipping event \(event.id): \(error.message)")
                        }
                        client.acknowledge(topicID, through: position)
                        received += 1
                        if let wanted, received >= wanted { return received }
                    }
                }
                throw CLIError("the connection to the broker ended after \(received) event(s)")
            }
            if let timeout {
                group.addTask {
                    try await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
                    return nil
                }
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
        await client.shutdown()
        if received == nil, let wanted {
            throw CLIError("timed out after \(timeout ?? 0) s before \(wanted) event(s) arrived")
        }
    }
}

