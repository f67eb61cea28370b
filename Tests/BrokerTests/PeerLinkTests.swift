import Broker
import PolderClient
import Sodium
import TestSupport
import Testing
import Wire

/// A broker's peer listener against a hand-driven peer: what a good peer gets through, and what a
/// bad one gets (its link closed) while the broker keeps serving its clients.
@Suite(.timeLimit(.minutes(1))) struct PeerLinkTests {
    let peerKeys = SigningKeyPair()

    /// A broker with a peer listener, a topic that Bob subscribes to (so the broker serves it),
    /// and a raw peer that finished its handshake and read the broker's `hello`.
    func setUp() async throws -> (BrokerFixture, TestTopic, alice: SigningKeyPair, Subscription, bob: PolderClient, RawConnection) {
        let broker = try await BrokerFixture { $0.peerListen = "127.0.0.1:0" }
        let alice = SigningKeyPair(), bob = SigningKeyPair()
        let owner = try await broker.connect(alice)
        let topic = try await TestTopic(on: owner, owner: alice, readers: [bob])
        let reader = try await broker.connect(bob)
        let subscription = try await reader.subscribe(topic.id)
        let peer = try RawConnection(address: broker.peerAddress!)
        try peer.handshake(as: peerKeys)
        guard case .hello(let profile) = try peer.receivePeerMessage() else { throw ProcessFailure("the broker did not start with hello") }
        #expect(throws: Never.self) { try profile.verifySignature() }
        return (broker, topic, alice, subscription, reader, peer)
    }

    func hello(_ keys: SigningKeyPair, address: String = "127.0.0.1:1") -> PeerMessage {
        .hello(BrokerProfile(broker: keys.publicKey, issued: 1, address: address, topics: BrokerProfile.topicFilter([])).signed(by: keys))
    }

    @Test func aPeersValidEventReachesSubscribers() async throws {
        let (broker, topic, alice, subscription, bob, peer) = try await setUp()
        try peer.send(hello(peerKeys))
        let event = try topic.event("from a peer", by: alice, sequence: 1)
        try peer.send(.event(event))
        #expect(await collect(subscription, count: 1).map(\.id) == [event.id])
        #expect(await broker.statistics().eventsFromPeers == 1)
        bob.close()
        await broker.stop()
    }

    @Test func aPeersChainedEventsWaitForTheirSignedEndEvenWhenItOvertakesThem() async throws {
        let (broker, topic, alice, subscription, bob, peer) = try await setUp()
        try peer.send(hello(peerKeys))
        let chain = try topic.access(alice).makeChain([[1], [2], [3], [4]], firstSequence: 1, after: nil, time: 1)
        #expect(chain.map(\.isChained) == [true, true, true, false])
        try peer.send(.event(chain[0]))
        try peer.send(.event(chain[1]))
        try peer.send(.event(chain[3]))  // the signed end overtakes chain[2]: it is remembered
        try await Task.sleep(for: .milliseconds(200))
        #expect(await broker.statistics().eventsDelivered == 0)
        try peer.send(.event(chain[2]))
        #expect(await collect(subscription, count: 4).map(\.id) == chain.map(\.id))
        let statistics = await broker.statistics()
        #expect(statistics.eventsRejected == 0)
        #expect(statistics.signatureVerifySeconds.count == 1)
        bob.close()
        await broker.stop()
    }

    @Test func aForgedEventClosesTheLinkAndIsNotDelivered() async throws {
        let (broker, topic, alice, subscription, bob, peer) = try await setUp()
        try peer.send(hello(peerKeys))
        var forged = PeerMessage.event(try topic.event("forged", by: alice, sequence: 1)).encoded()
        forged[forged.count - 1] ^= 1  // the signature's last byte
        try peer.send(message: forged)
        #expect(peer.isClosedByPeer())
        #expect(await collect(subscription, count: 1, seconds: 0.5).isEmpty)
        try await bob.ping()  // clients are still served
        #expect(await broker.statistics().eventsRejected == 1)
        await broker.stop()
    }

    @Test func undecodableMessagesAndForeignHellosCloseTheLink() async throws {
        let (broker, _, _, _, bob, peer) = try await setUp()
        try peer.send(message: [0x7F, 1, 2, 3])
        #expect(peer.isClosedByPeer())

        let impostor = try RawConnection(address: broker.peerAddress!)
        try impostor.handshake(as: peerKeys)
        _ = try impostor.receivePeerMessage()
        try impostor.send(hello(SigningKeyPair()))  // someone else's profile
        #expect(impostor.isClosedByPeer())
        try await bob.ping()
        await broker.stop()
    }

    @Test func aLocalPublishHeldForADependencyIsAnsweredOnceAPeerBringsIt() async throws {
        let broker = try await BrokerFixture { $0.peerListen = "127.0.0.1:0" }
        let alice = SigningKeyPair(), bob = SigningKeyPair(), carol = SigningKeyPair()
        let owner = try await broker.connect(alice)
        let topic = try await TestTopic(on: owner, owner: alice, readers: [bob], publishers: [carol])
        let reader = try await broker.connect(bob)
        let subscription = try await reader.subscribe(topic.id)
        let peer = try RawConnection(address: broker.peerAddress!)
        try peer.handshake(as: peerKeys)
        _ = try peer.receivePeerMessage()
        try peer.send(hello(peerKeys))

        let first = try topic.event("first", by: alice, sequence: 1)
        let reply = try topic.event("reply", by: carol, sequence: 1, dependencies: [first.id])
        let publisher = try await broker.connect(carol)
        let published = Task { try await publisher.publish(reply) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(await broker.statistics().eventsAccepted == 0)  // held: the broker lacks `first`
        try peer.send(.event(first))
        let deadline = Task { try await Task.sleep(for: .seconds(10)); publisher.close() }  // unanswered fails, not hangs
        #expect(try await published.value == reply.id)
        deadline.cancel()
        #expect(await collect(subscription, count: 2).map(\.id) == [first.id, reply.id])
        reader.close()
        await broker.stop()
    }

    @Test func aLocalPublishThatLeavesASequenceGapIsRefused() async throws {
        let broker = try await BrokerFixture()
        let alice = SigningKeyPair()
        let client = try await broker.connect(alice)
        let topic = try await TestTopic(on: client, owner: alice)
        try await client.publish(try topic.event("one", by: alice, sequence: 1))
        await #expect { try await client.publish(try topic.event("three", by: alice, sequence: 3)) } throws: { error in
            "\(error)".contains("leaves a gap: the publisher's last is 1, so the next is 2")
        }
        try await client.publish(try topic.event("two", by: alice, sequence: 2))
        await broker.stop()
    }
}

struct ProcessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
