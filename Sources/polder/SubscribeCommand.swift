import ArgumentParser
import Platform
import PolderClient
import Sodium
import Wire

struct SubscribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sub", abstract: "Subscribe to a topic and print each decrypted message on its own line.")

    @Argument(help: "The topic ID.")
    var topic: String

    @Option(name: .long, help: ArgumentHelp("Exit after this many events.", valueName: "N"))
    var count: Int?

    @Option(name: .long, help: ArgumentHelp("Exit after this many seconds (non-zero status if --count was not reached).", valueName: "SECONDS"))
    var timeout: Double?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive") }
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
        let events: AsyncStream<SignedEvent>
        do { events = try await client.subscribe(topicID) } catch { throw CLIError(error.message) }
        Console.standardError("polder: subscribed to \(topicID.text)")

        let wanted = count
        let received = try await withThrowingTaskGroup(of: Int?.self) { group in
            group.addTask {
                var received = 0
                for await event in events {
                    let plaintext: [UInt8]
                    do throws(ClientError) { plaintext = try access.decrypt(event) } catch {
                        Console.standardError("polder: skipping event \(event.id): \(error.message)")
                        continue
                    }
                    Console.standardOutput(String(decoding: plaintext, as: UTF8.self))
                    received += 1
                    if let wanted, received >= wanted { return received }
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
        if received == nil, let wanted {
            throw CLIError("timed out after \(timeout ?? 0) s before \(wanted) event(s) arrived")
        }
    }
}

