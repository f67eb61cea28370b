import ArgumentParser
import Dispatch
import Foundation
import Platform
import PolderClient
import Sodium
import Store
import Wire

/// Start-up time of `polderd` on an empty store and on one holding many events, written straight
/// into the store (genuinely signed, as a broker would have stored them).
struct StartupRun {
    let directory: URL
    let verifierThreads: Int

    init(events: Int, payload: Int, verifierThreads: Int) throws {
        self.verifierThreads = verifierThreads
        directory = try BrokerProcess.temporaryDirectory()
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
            let signed = SignedEvents(count: count)
            DispatchQueue.concurrentPerform(iterations: 2) { half in
                for index in stride(from: half, to: count, by: 2) {
                    signed.set(index, try! access.makeEvent(plaintext, sequence: first + UInt64(index), dependencies: [], time: 0))
                }
            }
            store.submit(signed.events.enumerated().map { .append($0.element!, ticket: UInt64(written + $0.offset + 1)) })
            committed.wait()
            written += count
            if written % 200_000 < chunk { Console.standardOutput("    \(written) events stored") }
        }
    }

    /// Seconds from launch to listening, on an empty store and on the filled one.
    func measure() throws -> (empty: Double, full: Double) {
        func time(_ directory: URL?) throws -> (Double, BrokerProcess) {
            let start = Environment.monotonicNanoseconds()
            let broker = try BrokerProcess(verifierThreads: verifierThreads, directory: directory)
            _ = try broker.waitForAddress()
            return (Double(Environment.monotonicNanoseconds() - start) / 1e9, broker)
        }
        let (empty, emptyBroker) = try time(nil)
        emptyBroker.stop()
        let (full, fullBroker) = try time(directory)
        fullBroker.stop()
        return (empty, full)
    }
}

/// Slots filled from several threads, each index by one thread only.
final class SignedEvents: @unchecked Sendable {
    private(set) var events: [SignedEvent?]
    init(count: Int) { events = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ event: SignedEvent) { events[index] = event }
}
