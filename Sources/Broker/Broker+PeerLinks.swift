import EventLoop
import Overlay
import Platform
import Sodium
import Wire

/// Links to other brokers: the peer listener, outbound connections made on demand, the Noise
/// handshake and `hello`, and the checks every received message passes before the overlay sees it
/// (profile signatures here, event signatures with `verify`, taken in each link's order).
extension Broker {
    func startPeerListener(_ address: String) throws(BrokerError) -> SocketAddress {
        do {
            let listener = try Listener(loop: loop, address: try SocketAddress(address)) { [unowned self] socket, peer in
                let connection = Connection(loop: loop, socket: socket, peer: peer, options: peerConnectionOptions)
                guard !shuttingDown, peerLinks.count < configuration.maximumPeerLinks else {
                    logger.warning("refusing peer connection from \(peer): \(shuttingDown ? "shutting down" : "peer link limit reached")")
                    connection.close()
                    return
                }
                adopt(connection, direction: .inbound, expected: nil, dialed: nil)
            }
            peerListener = listener
            return listener.localAddress
        } catch {
            throw BrokerError("cannot listen for peers on \(address): \(error.message)")
        }
    }

    /// Opens a link to `address`; `expected` is the broker we mean to reach, when known.
    @discardableResult
    func connect(to address: String, expected: PeerID?) -> PeerLink? {
        guard !shuttingDown else { return nil }
        let socketAddress: SocketAddress
        do { socketAddress = try SocketAddress(address) } catch {
            logger.warning("cannot reach peer at '\(address)': \(error.message)")
            if let expected { linkFailed(to: expected) }
            return nil
        }
        let holder = LinkHolder()
        let connection = Connection(loop: loop, connectingTo: socketAddress, options: peerConnectionOptions) { [unowned self] error in
            guard let link = holder.link else { return }
            if let error {
                logger.debug("cannot connect to peer at \(address): \(error.message)")
                closed(link, reason: .error(error.message))
                return
            }
            do throws(WireError) { try link.startHandshake() } catch { closed(link, reason: .error(error.message)) }
        }
        let link = adopt(connection, direction: .outbound, expected: expected, dialed: address)
        holder.link = link
        return link
    }

    @discardableResult
    private func adopt(_ connection: Connection, direction: PeerLink.Direction, expected: PeerID?, dialed: String?) -> PeerLink {
        connection.traffic = peerTraffic
        let channel = SecureChannel(role: direction == .inbound ? .responder : .initiator, identity: identity,
                                    noiseStaticKey: noiseStaticKey, proof: identityProof)
        let link = PeerLink(number: newNumber(), connection: connection, channel: channel, direction: direction, expected: expected,
                            dialed: dialed, now: overlayNow(), broker: self)
        peerLinks[link.number] = link
        connection.delegate = link
        startHandshakeClock(link.number)
        return link
    }

    /// The peer does not read, or sent a frame over the limit: the link is closed at once.
    func abandon(_ link: PeerLink, because problem: String) {
        logger.warning("closing \(link.label): \(problem)")
        link.connection.close()
        closed(link, reason: .closedLocally)
    }

    /// The link is gone. A broker with no other link to the peer tells the overlay, which drops it
    /// from its views (and probes it now and then while it is dormant).
    func closed(_ link: PeerLink, reason: Connection.CloseReason) {
        guard peerLinks.removeValue(forKey: link.number) != nil else { return }
        link.connection.close()
        logger.debug("\(link.label) ended: \(reason)")
        guard !link.closedDeliberately, !shuttingDown, let peer = link.identity ?? link.expected else { return }
        if !peerLinks.values.contains(where: { $0.identity == peer || ($0.identity == nil && $0.expected == peer) }) {
            linkFailed(to: peer)
        }
    }

    private func linkFailed(to peer: PeerID) {
        overlay.unreachable(peer)
    }

    /// The established link to `peer`, or one being opened.
    func link(to peer: PeerID) -> PeerLink? {
        var opening: PeerLink?
        for link in peerLinks.values where !link.isClosing {
            if link.identity == peer && link.isEstablished { return link }
            if link.identity == peer || (link.identity == nil && link.expected == peer) { opening = link }
        }
        return opening
    }

    // MARK: Receiving

    func receive(_ frame: [UInt8], on link: PeerLink) {
        guard !link.isClosing else { return }
        let step: SecureChannel.Step
        do { step = try link.receive(frame) } catch {
            logger.info("closing \(link.label): \(error.message)")
            return drop(link)
        }
        switch step {
        case .send:
            return
        case .established(let peer, _):
            established(link, peer: peer)
        case .message(let plaintext):
            let message: PeerMessage
            do { message = try PeerMessage.decode(plaintext) } catch {
                // No error message between brokers: a peer that sends what we cannot read is cut off.
                logger.warning("closing \(link.label): undecodable peer message: \(error.message)")
                return drop(link)
            }
            link.lastUsed = overlayNow()
            take(message, on: link)
        }
    }

    private func established(_ link: PeerLink, peer: PeerID) {
        guard peer != identity.publicKey else {
            logger.info("closing \(link.label): it is this broker itself")
            link.closedDeliberately = true
            return drop(link)
        }
        if let expected = link.expected, expected != peer {
            logger.warning("closing \(link.label): expected broker \(expected.text), found \(peer.text)")
            link.closedDeliberately = true
            drop(link)
            return linkFailed(to: expected)
        }
        statistics.peerLinksEstablished += 1
        logger.info("\(link.label) established")
        link.send(.hello(overlay.profile), now: overlayNow())
        // Every held descriptor, so that the peer can check events of any topic it comes to serve.
        for state in topics.all { link.send(.descriptor(state.descriptor), now: overlayNow()) }
        link.flushOutbox()
    }

    private func drop(_ link: PeerLink) {
        link.connection.close()
        closed(link, reason: .closedLocally)
    }

    /// Checks one message and queues it in the link's order; events wait for their signature check.
    private func take(_ message: PeerMessage, on link: PeerLink) {
        guard let peer = link.identity else { return }
        var message = message
        switch message {
        case .hello(let profile):
            guard profile.broker == peer, verified(profile) else {
                logger.warning("closing \(link.label): its hello carries a profile that is not its own or not validly signed")
                return drop(link)
            }
        case .shuffle, .shuffleReply, .cluster, .clusterReply, .ring, .ringReply:
            message = withVerifiedEntries(message, from: link)
        case .descriptor(let descriptor):
            return receivedDescriptor(descriptor, from: link)
        case .event(let event):
            // Cheap checks first: topics we do not serve, duplicates, and what admission refuses.
            let topic = event.event.topic
            guard topics[topic]?.isServed == true, !overlay.causal.isDelivered(topic: topic, id: event.id, archive: archive) else { return }
            if let problem = admissionProblem(event.event) {
                logger.debug("ignoring an event from \(link.label): \(problem.text)")
                return
            }
            if let ticket = link.received.append(message, event: event) {
                verify(event) { [self, link] outcome in verified(ticket: ticket, outcome, on: link) }
            } else {
                processReceived(on: link)  // chained: it may already be vouched for
            }
            return
        default:
            break
        }
        _ = link.received.append(message, event: nil)
        processReceived(on: link)
    }

    private func verified(ticket: UInt64, _ outcome: Result<Void, WireError>, on link: PeerLink) {
        guard peerLinks[link.number] != nil, !link.isClosing else { return }
        link.received.checked(ticket, outcome)
        processReceived(on: link)
    }

    /// Hands the authentic prefix of the link's received messages to the overlay, in order.
    private func processReceived(on link: PeerLink) {
        guard let peer = link.identity else { return }
        while true {
            switch link.received.front {
            case .empty:
                return
            case .waiting:
                // A chained event whose successor does not come must not hold up the link for long:
                // it is dropped, and causal delivery fetches it again if it is needed.
                guard link.received.dropUnvouchedFront(whenMoreThan: PeerLink.maximumWaitingBehindChain) != nil else { return }
                statistics.chainedEventsDropped += 1
            case .forged(_, let text):
                // A broker forwards only events it verified: this peer is faulty or hostile.
                statistics.eventsRejected += 1
                logger.warning("closing \(link.label): it sent an event with a bad signature: \(text)")
                link.received.removeAll()
                return drop(link)
            case .ready(let message):
                link.received.removeFront()
                perform(overlay.receive(message, from: peer, now: overlayNow(), archive: archive))
            }
        }
    }

    /// Keeps only entries whose profile is validly signed by the broker it names.
    private func withVerifiedEntries(_ message: PeerMessage, from link: PeerLink) -> PeerMessage {
        func check(_ entries: [ViewEntry]) -> [ViewEntry] {
            entries.filter { entry in
                if verified(entry.profile) { return true }
                logger.info("\(link.label) gossiped a profile of \(entry.broker.text) with a bad signature; ignored")
                return false
            }
        }
        switch message {
        case .shuffle(let entries): return .shuffle(check(entries))
        case .shuffleReply(let entries): return .shuffleReply(check(entries))
        case .cluster(let entries): return .cluster(check(entries))
        case .clusterReply(let entries): return .clusterReply(check(entries))
        case let .ring(topic, entries): return .ring(topic: topic, entries: check(entries))
        case let .ringReply(topic, entries): return .ringReply(topic: topic, entries: check(entries))
        default: return message
        }
    }

    /// Verifies a profile's signature once per distinct profile (gossip repeats them often).
    private func verified(_ profile: SignedBrokerProfile) -> Bool {
        if verifiedProfiles[profile.broker] == profile.signature { return true }
        guard (try? profile.verifySignature()) != nil else { return false }
        if verifiedProfiles.count >= 4096 { verifiedProfiles.removeAll() }
        verifiedProfiles[profile.broker] = profile.signature
        return true
    }
}

/// Lets a connection's completion find the link created around it.
private final class LinkHolder {
    weak var link: PeerLink?
}
