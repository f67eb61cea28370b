import Broker
import Platform
import Sodium
import TestSupport
import Testing
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Limits that protect the broker from one client: idle timeout, frame size, message rate and
/// the number of clients. Each case checks the others are still served.
@Suite(.timeLimit(.minutes(1))) struct ConnectionHygieneTests {
    @Test func aSilentClientIsToldItWasIdleAndDisconnected() async throws {
        let broker = try await BrokerFixture {
            $0.idleTimeout = 2
            $0.maintenanceInterval = 0.1
        }
        let silent = try RawConnection(address: broker.address)
        try silent.handshake(as: SigningKeyPair())
        let chatty = try RawConnection(address: broker.address)
        try chatty.handshake(as: SigningKeyPair())
        let started = Environment.monotonicNanoseconds()
        // The chatty one pings every 0.3 s for 1.8 s; the silent one then waits for its error. (A
        // blocking sleep: a busy test pool must not delay the pings past the timeout.)
        for nonce in 1...6 {
            usleep(300_000)
            try chatty.send(EdgeMessage.ping(nonce: UInt64(nonce)))
            #expect(try chatty.receive() == .pong(nonce: UInt64(nonce)))
        }
        guard case let .error(request, code, text) = try silent.receive() else {
            Issue.record("expected an error")
            return
        }
        #expect(request == 0 && code == .idle)
        #expect(text.contains("no message for 2.0 s"))
        #expect(Environment.monotonicNanoseconds() - started >= 1_900_000_000)
        #expect(silent.isClosedByPeer())
        try chatty.send(EdgeMessage.ping(nonce: 7))
        #expect(try chatty.receive() == .pong(nonce: 7))
        let closed = await broker.statistics().connectionsClosed
        #expect(closed == ["idle": 1])
        await broker.stop()
    }

    /// One timer serves every connection's handshake limit: connections that arrive at different
    /// times are each closed once their own time is up, and one that completed is left alone.
    @Test func connectionsThatNeverShakeHandsAreClosedAfterTheHandshakeTimeout() async throws {
        let broker = try await BrokerFixture { $0.handshakeTimeout = 0.5 }
        let started = Environment.monotonicNanoseconds()
        let first = try RawConnection(address: broker.address)
        let greeted = try RawConnection(address: broker.address)
        try greeted.handshake(as: SigningKeyPair())
        usleep(300_000)
        let second = try RawConnection(address: broker.address)
        #expect(first.isClosedByPeer())
        let firstClosed = Environment.monotonicNanoseconds() - started
        #expect(firstClosed >= 450_000_000)
        #expect(second.isClosedByPeer())
        #expect(Environment.monotonicNanoseconds() - started >= 750_000_000)
        try greeted.send(EdgeMessage.ping(nonce: 1))
        #expect(try greeted.receive() == .pong(nonce: 1))
        let closed = await broker.statistics().connectionsClosed
        #expect(closed == ["handshake_timeout": 2])
        await broker.stop()
    }

    /// A reload that shortens the handshake limit holds connections already waiting to it, at
    /// once rather than when the old limit would have ended.
    @Test func aShorterHandshakeTimeoutAfterAReloadAppliesToConnectionsWaiting() async throws {
        let broker = try await BrokerFixture { $0.handshakeTimeout = 30 }
        let silent = try RawConnection(address: broker.address)
        usleep(100_000)
        let started = Environment.monotonicNanoseconds()
        await broker.reconfigure { $0.handshakeTimeout = 0.3 }
        #expect(silent.isClosedByPeer())
        #expect(Environment.monotonicNanoseconds() - started < 10_000_000_000)
        let closed = await broker.statistics().connectionsClosed
        #expect(closed == ["handshake_timeout": 1])
        await broker.stop()
    }

    @Test func aFrameOverTheConfiguredLimitIsRefused() async throws {
        let broker = try await BrokerFixture { $0.maximumFrameLength = 4096 }
        let client = try RawConnection(address: broker.address)
        try client.handshake(as: SigningKeyPair())
        try client.writeFrame([UInt8](repeating: 7, count: 5000))
        guard case let .error(_, code, text) = try client.receive() else {
            Issue.record("expected an error")
            return
        }
        #expect(code == .frameTooLarge)
        #expect(text == "frame of 5000 bytes exceeds the limit of 4096")
        #expect(client.isClosedByPeer())
        let other = try RawConnection(address: broker.address)
        try other.handshake(as: SigningKeyPair())
        try other.send(EdgeMessage.ping(nonce: 1))
        #expect(try other.receive() == .pong(nonce: 1))
        await broker.stop()
    }

    /// Over the rate limit nothing is refused or lost: the broker just reads more slowly.
    @Test func aClientOverTheMessageRateIsSlowedNotCut() async throws {
        let broker = try await BrokerFixture { $0.maximumMessageRate = 100 }  // a burst of 64, then 100 per second
        let client = try RawConnection(address: broker.address)
        try client.handshake(as: SigningKeyPair())
        let started = Environment.monotonicNanoseconds()
        for nonce in 1...200 { try client.send(EdgeMessage.ping(nonce: UInt64(nonce))) }
        for nonce in 1...200 { #expect(try client.receive() == .pong(nonce: UInt64(nonce))) }
        #expect(client.batchesReceived == 0)  // it never sent a batch, so it gets none
        // The handshake's frame and the 64-frame burst are free; the other 137 take 1.37 s at 100/s.
        #expect(Environment.monotonicNanoseconds() - started >= 1_200_000_000)
        await broker.stop()
    }

    /// A batch (§4.16) is handled as its messages one by one, and each counts against the rate.
    @Test func aBatchIsHandledMessageByMessageAndEachCountsAgainstTheRate() async throws {
        let broker = try await BrokerFixture { $0.maximumMessageRate = 100 }  // a burst of 64, then 100 per second
        let client = try RawConnection(address: broker.address)
        try client.handshake(as: SigningKeyPair())
        let started = Environment.monotonicNanoseconds()
        let pings = (1...200).map { EdgeMessage.ping(nonce: UInt64($0)).encoded() }
        for batch in EdgeBatch.pack(pings, fromBroker: false) { try client.send(message: batch) }
        try client.send(EdgeMessage.ping(nonce: 201))
        for nonce in 1...201 { #expect(try client.receive() == .pong(nonce: UInt64(nonce))) }
        #expect(client.batchesReceived >= 1)  // it sent one, so the answers may come batched
        // One frame carried 200 messages: the one after it waits until the 137 beyond the burst are paid for.
        #expect(Environment.monotonicNanoseconds() - started >= 1_200_000_000)
        await broker.stop()
    }

    @Test func aMalformedMessageInABatchClosesAfterTheOnesBeforeIt() async throws {
        let broker = try await BrokerFixture()
        let client = try RawConnection(address: broker.address)
        try client.handshake(as: SigningKeyPair())
        let ping = { (nonce: UInt64) in EdgeMessage.ping(nonce: nonce).encoded() }
        try client.send(message: EdgeBatch.pack([ping(1), ping(2), [0x06, 1, 2], ping(4)], fromBroker: false)[0])
        #expect(try client.receive() == .pong(nonce: 1))
        #expect(try client.receive() == .pong(nonce: 2))
        guard case let .error(request, code, _) = try client.receive() else { Issue.record("no error"); return }
        #expect(request == 0 && code == .malformedMessage)
        #expect(client.isClosedByPeer())
        // A broker's batch from a client is a broker message: unsupported.
        let other = try RawConnection(address: broker.address)
        try other.handshake(as: SigningKeyPair())
        try other.send(message: EdgeBatch.pack([ping(1), ping(2)], fromBroker: true)[0])
        guard case let .error(_, otherCode, _) = try other.receive() else { Issue.record("no error"); return }
        #expect(otherCode == .unsupported)
        #expect(other.isClosedByPeer())
        await broker.stop()
    }

    @Test func connectionsOverTheMaximumAreClosedAtOnce() async throws {
        let broker = try await BrokerFixture { $0.maximumConnections = 2 }
        let first = try RawConnection(address: broker.address)
        try first.handshake(as: SigningKeyPair())
        let second = try RawConnection(address: broker.address)
        try second.handshake(as: SigningKeyPair())
        let third = try RawConnection(address: broker.address)
        #expect(third.isClosedByPeer())
        try first.send(EdgeMessage.ping(nonce: 9))
        #expect(try first.receive() == .pong(nonce: 9))
        #expect(await broker.statistics().connectionsClosed["connection_limit"] == 1)
        await broker.stop()
    }
}
