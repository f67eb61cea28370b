import Foundation
import Platform
import PolderClient
import Sodium
import Store
import Wire

/// Start-up time of `polderd` on an empty store and on one holding many events, written straight
/// into the store (genuinely signed, as a broker would have stored them). Polder alone: the peers
/// keep no comparable store.
struct StartupRun {
    let directory = BrokerProcess.temporaryDirectory("startup")

    init(events: Int, payload: Int) throws {
        let owner = SigningKeyPair()
        let (descriptor, keys) = try NewTopic.make(name: "startup", owner: owner, openPublishing: false, publishers: [], readers: [])
        let access = TopicAccess(descriptor: descriptor.descriptor, identity: owner, keys: keys)
        let committed = Semaphore()
        let (store, _) = try BrokerStore.open(directory: directory.appendingPathComponent("data/store").path) { _ in committed.signal() }
        defer { store.close() }
        store.submit([.putDescriptor(descriptor, ticket: 0)])
        committed.wait()
        let plaintext = [UInt8](repeating: 0x62, count: payload)
        let chunk = 8192
        var written = 0
        while written < events {
            let count = min(chunk, events - written)
            let first = UInt64(written + 1)
            let signed = try PolderDriver.signInParallel(count) { index throws(BenchError) in
                do { return try access.makeEvent(plaintext, sequence: first + UInt64(index), dependencies: [], time: 0) } catch {
                    throw BenchError("cannot make an event: \(error)")
                }
            }
            store.submit(signed.enumerated().map { .append($0.element, ticket: UInt64(written + $0.offset + 1)) })
            committed.wait()
            written += count
            if written % 200_000 < chunk { Console.standardOutput("    \(written) events stored") }
        }
    }

    /// Seconds from launch to listening, on an empty store and on the filled one.
    func measure(executable: String, cpus: String?, brokerThreads: Int) throws -> (empty: Double, full: Double) {
        func time(_ directory: URL?) throws -> Double {
            let start = Environment.monotonicNanoseconds()
            let broker = try BrokerProcess(.polder, executable: executable, cpus: cpus, brokerThreads: brokerThreads, directory: directory)
            let seconds = Double(Environment.monotonicNanoseconds() - start) / 1e9
            broker.stop()
            return seconds
        }
        defer { try? FileManager.default.removeItem(at: directory) }
        return (try time(nil), try time(directory))
    }
}
