import EventLoop
import Platform
import Wire

/// The observability endpoints over HTTP: `/healthz`, `/metrics` (Prometheus text) and `/v1/info`
/// (JSON). Answers are built on the loop from the broker's own state, so they are consistent.
extension Broker {
    /// The broker's release, shown by `/v1/info`, `polderd --version` and the metrics.
    public static let version = "0.5.0"

    func startHTTP(_ address: String) throws(BrokerError) -> SocketAddress {
        do {
            let server = try HTTPServer(loop: loop, address: try SocketAddress(address)) { [unowned self] request in
                answer(request)
            }
            httpServer = server
            let bound = server.localAddress
            logger.notice("serving /healthz, /metrics and /v1/info on http://\(bound)")
            if !Self.isLoopback(bound) {
                logger.warning("the observability endpoints on \(bound) are reachable from other hosts; they need no authentication")
            }
            return bound
        } catch {
            throw BrokerError("cannot serve HTTP on \(address): \(error.message)")
        }
    }

    private static func isLoopback(_ address: SocketAddress) -> Bool {
        address.text.hasPrefix("127.") || address.text.hasPrefix("[::1]")
    }

    private func answer(_ request: HTTPServer.Request) -> HTTPServer.Response {
        switch request.path {
        case "/healthz":
            if shuttingDown { return HTTPServer.Response(status: 503, text: "shutting down\n") }
            return HTTPServer.Response(text: "ok\n")
        case "/metrics":
            return HTTPServer.Response(contentType: "text/plain; version=0.0.4; charset=utf-8", text: metricsText())
        case "/v1/info":
            return HTTPServer.Response(contentType: "application/json", text: info().rendered + "\n")
        default:
            return HTTPServer.Response(status: 404, text: "no such endpoint; try /healthz, /metrics or /v1/info\n")
        }
    }

    // MARK: Metrics

    /// Events waiting for detached durable subscribers: what they will be sent when they return.
    var eventsQueuedForDetachedSessions: UInt64 {
        var queued: UInt64 = 0
        for (key, record) in durableSessions.records where !record.expired && !durableSessions.isAttached(key) {
            guard let log = topics[key.topic]?.log else { continue }
            let last = log.next - 1
            if last > record.cursor { queued += last - max(record.cursor, log.first - 1) }
        }
        return queued
    }

    func metricsText() -> String {
        let statistics = statistics
        var page = PrometheusText()
        page.metric("polder_info", "gauge", "The broker's version and identity.",
                    samples: [([("version", Self.version), ("broker", identity.publicKey.text)], 1)])
        page.metric("polder_uptime_seconds", "gauge", "Seconds since the broker started.",
                    Double(Environment.monotonicNanoseconds() - startedAt) / 1e9)
        page.metric("polder_client_connections", "gauge", "Client connections open now.", Double(sessions.count))
        page.metric("polder_client_connections_accepted_total", "counter", "Client connections accepted.",
                    Double(statistics.connectionsAccepted))
        page.metric("polder_client_connections_closed_total", "counter", "Client connections the broker ended, by reason.",
                    samples: statistics.connectionsClosed.sorted { $0.key < $1.key }.map { ([("reason", $0.key)], Double($0.value)) })
        page.metric("polder_peer_links", "gauge", "Established links to other brokers.",
                    Double(peerLinks.values.filter(\.isEstablished).count))
        page.metric("polder_peer_links_established_total", "counter", "Links to other brokers established.",
                    Double(statistics.peerLinksEstablished))
        page.metric("polder_overlay_neighbours", "gauge", "Brokers in the overlay's views and rings.", Double(overlay.neighbours.count))
        page.metric("polder_topics", "gauge", "Topics the broker holds a descriptor for.", Double(topics.all.count))
        page.metric("polder_topics_served", "gauge", "Topics the broker takes part in within the overlay.", Double(topics.all.count { $0.isServed }))
        page.metric("polder_events_received_total", "counter", "Events accepted into the store, by origin.",
                    samples: [([("origin", "client")], Double(statistics.eventsAccepted - statistics.eventsAcceptedFromPeers)),
                              ([("origin", "peer")], Double(statistics.eventsAcceptedFromPeers))])
        page.metric("polder_events_delivered_total", "counter", "Events delivered to subscribers.", Double(statistics.eventsDelivered))
        page.metric("polder_publishes_refused_total", "counter", "Publishes answered with an error, by error.",
                    samples: statistics.publishesRefused.sorted { $0.key.rawValue < $1.key.rawValue }
                        .map { ([("error", $0.key.metricLabel)], Double($0.value)) })
        page.metric("polder_events_dropped_total", "counter", "Events subscribers were told they missed, by reason.",
                    samples: DropReason.allCases.map { ([("reason", $0.metricLabel)], Double(statistics.eventsDropped[$0] ?? 0)) })
        page.metric("polder_events_pruned_total", "counter", "Events retention and expiry removed from the store, by reason.",
                    samples: DropReason.allCases.map { ([("reason", $0.metricLabel)], Double(statistics.eventsPruned[$0] ?? 0)) })
        page.metric("polder_events_skipped_total", "counter", "Events given up because every peer had pruned them.",
                    Double(statistics.eventsSkipped))
        page.metric("polder_equivocations_total", "counter", "Events refused because their publisher signed another with the same sequence.",
                    Double(statistics.equivocations))
        page.metric("polder_chained_events_dropped_total", "counter",
                    "Chained events from peers given up because no successor vouched for them in time.",
                    Double(statistics.chainedEventsDropped))
        page.metric("polder_publishes_pending", "gauge", "Publishes waiting for their signature check or their commit.",
                    Double(sessions.values.reduce(0) { $0 + $1.publishesInFlight }))
        page.metric("polder_events_waiting_for_dependencies", "gauge", "Events the overlay holds until what they depend on arrives.",
                    Double(overlay.causal.heldCount))
        page.metric("polder_events_queued_for_detached_sessions", "gauge", "Stored events that detached durable subscribers have not yet received.",
                    Double(eventsQueuedForDetachedSessions))
        page.metric("polder_subscribers_fell_behind_total", "counter", "Times a live subscriber fell back to reading from the store.",
                    Double(statistics.subscribersFellBehind))
        page.metric("polder_subscribers_set_back_total", "counter", "Subscriptions set back because events delivered before their commit failed to be stored.",
                    Double(statistics.subscribersSetBack))
        page.metric("polder_durable_sessions_expired_total", "counter", "Durable sessions expired after staying detached too long.",
                    Double(statistics.sessionsExpired))
        for (origin, tally) in [("client", clientTraffic), ("peer", peerTraffic)] {
            page.metric("polder_\(origin)_bytes_received_total", "counter", "Bytes received on \(origin) connections, framing included.",
                        Double(tally.bytesReceived))
            page.metric("polder_\(origin)_bytes_sent_total", "counter", "Bytes queued for sending on \(origin) connections, framing included.",
                        Double(tally.bytesSent))
            page.metric("polder_\(origin)_frames_received_total", "counter", "Frames received on \(origin) connections.",
                        Double(tally.framesReceived))
            page.metric("polder_\(origin)_frames_sent_total", "counter", "Frames queued for sending on \(origin) connections.",
                        Double(tally.framesSent))
        }
        page.histogram("polder_signature_verify_seconds", "Seconds per event signature check.",
                       statistics.signatureVerifySeconds)
        page.histogram("polder_store_commit_seconds", "Seconds per store commit, fsync included.", statistics.commitSeconds)
        page.histogram("polder_store_commit_batch_size", "Operations per store commit.", statistics.commitBatchSize)
        page.metric("polder_store_refused_for_space_total", "counter", "Events (from clients or peers) the store refused because it was full.",
                    Double(statistics.publishesRefusedForSpace))
        return page.text
    }

    // MARK: Info

    func info() -> JSONText {
        let links = peerLinks.values.filter(\.isEstablished).sorted { $0.number < $1.number }
        let peers: [JSONText] = links.map { link in
            .object([("broker", link.identity.map { .string($0.text) } ?? .null),
                     ("address", .string(link.address)),
                     ("direction", .string(link.direction.rawValue)),
                     ("advertised", overlay.profile(of: link.identity!).map { .string($0.profile.address) } ?? .null)])
        }
        let topicList: [JSONText] = topics.all.sorted { $0.descriptor.descriptor.topic < $1.descriptor.descriptor.topic }.map { state in
            let descriptor = state.descriptor.descriptor
            return .object([("topic", .string(descriptor.topic.text)),
                            ("revision", .number(Double(descriptor.revision))),
                            ("events", .number(Double(state.log.count))),
                            ("bytes", .number(Double(state.log.bytes))),
                            ("first_position", .number(Double(state.log.first))),
                            ("next_position", .number(Double(state.log.next))),
                            ("subscribers", .number(Double(state.subscriptions.count))),
                            ("served", .bool(state.isServed))])
        }
        var listeners: [(String, JSONText)] = []
        if let edge = listener?.localAddress { listeners.append(("clients", .string(edge.text))) }
        if let peerAddress { listeners.append(("peers", .string(peerAddress.text))) }
        if let httpAddress { listeners.append(("http", .string(httpAddress.text))) }
        return .object([
            ("broker", .string(identity.publicKey.text)),
            ("version", .string(Self.version)),
            ("uptime_seconds", .number((Double(Environment.monotonicNanoseconds() - startedAt) / 1e6).rounded() / 1000)),
            ("shutting_down", .bool(shuttingDown)),
            ("listeners", .object(listeners)),
            ("advertised_address", advertisedAddress.isEmpty ? .null : .string(advertisedAddress)),
            ("clients", .number(Double(sessions.count))),
            ("peers", .array(peers)),
            ("topics", .array(topicList)),
        ])
    }
}
