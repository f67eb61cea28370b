import EventLoop
import Overlay
import Platform
import Store
import Wire

/// Drives the broker's `OverlayNode`: one tick per period, every peer message and local publish
/// through it, and its actions carried out (messages sent over peer links, released events stored
/// and delivered, losses and equivocation reported). Also what the overlay does not model: which
/// topics this broker serves, its signed profile, descriptors spread to every peer, bootstrap and
/// remembered peers.
extension Broker {
    /// The overlay's clock: monotonic milliseconds.
    func overlayNow() -> UInt64 { Environment.monotonicNanoseconds() / 1_000_000 }

    var archive: StoreArchive { StoreArchive(store: store, uncommitted: uncommitted) }

    func perform(_ actions: [OverlayNode.Action]) {
        for action in actions {
            switch action {
            case let .send(message, peer):
                send(message, to: peer)
            case let .deliver(event, source):
                storeDelivered(event, from: source)
            case .notice(let notice):
                noticed(notice)
            case let .equivocation(event, existing):
                statistics.equivocations += 1
                logger.warning("""
                    publisher \(event.event.publisher.text) signed two events with sequence \(event.event.sequence) on topic \
                    \(event.event.topic.text): \(existing) and \(event.id); the second is refused
                    """)
            case .peerFailed(let peer):
                logger.info("peer \(peer.text.prefix(12)) stopped answering; it is dropped from the views and probed now and then")
                for link in peerLinks.values where link.identity == peer {
                    link.closedDeliberately = true
                    link.close()
                }
            }
        }
    }

    private func send(_ message: PeerMessage, to peer: PeerID) {
        if let link = link(to: peer) { return link.send(message, now: overlayNow()) }
        guard let address = overlay.profile(of: peer)?.profile.address, !address.isEmpty,
              peerLinks.count < configuration.maximumPeerLinks else { return }
        connect(to: address, expected: peer)?.send(message, now: overlayNow())
    }

    /// A released event goes to the store and to live subscribers; a local publish is answered once it is committed.
    private func storeDelivered(_ event: SignedEvent, from source: PeerID?) {
        uncommitted[event.id] = event
        handToStore(event)
        if source == nil, let local = takeLocalPublish(event) {
            write(.publish(session: local.session, request: local.request, event: event)) { .append(event, ticket: $0) }
        } else {
            statistics.eventsFromPeers += source == nil ? 0 : 1
            write(.peerEvent(event, fromPeer: source != nil)) { .append(event, ticket: $0) }
        }
    }

    /// The client and request waiting for a local publish the overlay released, if any (the
    /// client that published a held event may be gone by the time it is released).
    private func takeLocalPublish(_ event: SignedEvent) -> (session: UInt64, request: UInt32)? {
        if let released = releasedLocalPublish, released.event === event {
            releasedLocalPublish = nil
            return (released.session, released.request)
        }
        return localPublishes.isEmpty ? nil : localPublishes.removeValue(forKey: event.id)
    }

    private func noticed(_ notice: CausalDelivery.Notice) {
        switch notice {
        case let .skipped(topic, publisher, from, to):
            statistics.eventsSkipped += to - from + 1
            logger.warning("""
                events \(from)…\(to) of publisher \(publisher.text.prefix(12)) on topic \(topic.text.prefix(12)) were pruned \
                everywhere they were asked for; delivery goes on after them
                """)
        case let .dependencyUnavailable(topic, id):
            logger.warning("no peer has event \(id) of topic \(topic.text.prefix(12)); the events waiting for it are delivered without it")
        }
    }

    // MARK: Periods

    func startOverlay() {
        let timer = Timer(loop: loop, repeating: true) { [unowned self] in tickOverlay() }
        timer.schedule(after: configuration.overlayPeriod)
        overlayTimer = timer
        for profile in rememberedPeers { perform(overlay.met(profile, now: overlayNow())) }
        if !rememberedPeers.isEmpty { logger.info("remembering \(rememberedPeers.count) peer(s) from the last run") }
        bootstrap()
    }

    private func tickOverlay() {
        overlayPeriods += 1
        let now = overlayNow()
        perform(overlay.tick(now: now))
        if overlay.neighbours.isEmpty && overlayPeriods % 10 == 0 { bootstrap() }
        for link in peerLinks.values where link.isEstablished && now > link.lastUsed + 30_000 {
            guard let peer = link.identity, overlay.neighbours[peer] == nil else { continue }
            link.closedDeliberately = true
            link.close()
        }
        rememberNeighbours()
        if overlayPeriods % 30 == 5 { logOverlay() }
    }

    /// Connects to every bootstrap address not already linked.
    func bootstrap() {
        for address in configuration.bootstrap where !peerLinks.values.contains(where: { $0.dialed == address }) {
            connect(to: address, expected: nil)
        }
    }

    /// Saves the neighbours' profiles when the set of neighbours changed, so that a restart (even
    /// after a crash) finds the network again without a bootstrap.
    func rememberNeighbours() {
        let neighbours = overlay.neighbours
        let brokers = Set(neighbours.keys)
        guard !brokers.isEmpty, brokers != rememberedBrokers else { return }
        rememberedBrokers = brokers
        submit(.rememberPeers(Array(neighbours.values)))
    }

    /// The peer view and ring neighbours, as log lines.
    func logOverlay() {
        func names(_ entries: [ViewEntry]) -> String { entries.map { String($0.broker.text.prefix(12)) }.joined(separator: " ") }
        let linked = peerLinks.values.compactMap { $0.isEstablished ? $0.identity.map { String($0.text.prefix(12)) } : nil }
        logger.info("overlay: links [\(linked.sorted().joined(separator: " "))] sampling [\(names(overlay.sampling.view))] cluster [\(names(overlay.clustering.view))]")
        for topic in topics.served.sorted(by: <) {
            guard let ring = overlay.rings.ring(topic) else { continue }
            logger.info("overlay: topic \(topic.text.prefix(12)) ring predecessors [\(names(ring.predecessors))] successors [\(names(ring.successors))]")
        }
    }

    // MARK: Served topics and profile

    /// Starts serving `topic` (a local client put, subscribed to or published on it): the profile
    /// advertises it and the broker joins its ring and syncs.
    func serve(_ topic: TopicID) {
        guard let state = topics[topic], !state.isServed else { return }
        state.isServed = true
        logger.info("serving topic \(topic.text.prefix(12)) in the overlay")
        refreshProfile()
    }

    /// Signs a new profile for the current address and served topics and gives it to the overlay.
    func refreshProfile() {
        let issued = max(Environment.wallClockMilliseconds(), overlay.profile.profile.issued + 1)
        let served = topics.served
        let profile = BrokerProfile(broker: identity.publicKey, issued: issued, address: advertisedAddress,
                                    topics: BrokerProfile.topicFilter(served.map { BloomFilter.Key($0.bytes) })).signed(by: identity)
        perform(overlay.update(profile: profile, topics: served, now: overlayNow()))
    }

    // MARK: Descriptors

    /// A peer's descriptor: stored if newer than the one held, then passed on to the other peers.
    func receivedDescriptor(_ descriptor: SignedTopicDescriptor, from link: PeerLink) {
        if let held = topics[descriptor.descriptor.topic]?.descriptor, held == descriptor || !descriptor.mayReplace(held) { return }
        do { try descriptor.verifySignature() } catch {
            logger.warning("\(link.label) sent a descriptor of topic \(descriptor.descriptor.topic.text) with a bad signature; ignored")
            return
        }
        write(.descriptor(session: nil, request: 0, descriptor: descriptor)) { .putDescriptor(descriptor, ticket: $0) }
    }

    /// Sends a newly stored descriptor to every linked peer (each passes on only what is new to it).
    func spread(_ descriptor: SignedTopicDescriptor) {
        for link in peerLinks.values where link.isEstablished { link.send(.descriptor(descriptor), now: overlayNow()) }
    }
}
