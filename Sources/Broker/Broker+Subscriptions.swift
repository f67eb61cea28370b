import EventLoop
import Platform
import Store
import Wire

extension Broker {
    /// Starts a subscription: for this connection only, or attached to a durable session that is
    /// created or resumed. Deliveries begin from the store and turn live once caught up.
    func subscribe(_ topic: TopicID, start: SubscriptionStart, durableName: String, request: UInt32, from session: EdgeSession) {
        guard let state = topics[topic] else {
            return session.send(.error(request: request, code: .unknownTopic, text: "the broker has no topic \(topic.text)"))
        }
        guard let client = session.identity, state.descriptor.descriptor.readerKey(for: client) != nil else {
            return session.send(.error(request: request, code: .notAReader, text: "you are not a reader of topic \(topic.text)"))
        }
        if let previous = session.subscriptions.removeValue(forKey: topic) { detach(previous) }
        let startPosition = position(for: start, on: state)
        guard !durableName.isEmpty else {
            let subscription = Subscription(number: newNumber(), topic: state, session: session, durableKey: nil,
                                            nextPosition: startPosition, acknowledged: startPosition - 1)
            register(subscription)
            session.send(.subscribed(request: request, resumed: false, position: startPosition))
            activate(subscription)
            return
        }
        let key = SessionKey(client: client, topic: topic, name: durableName)
        guard !durableSessions.isAttached(key) else {
            return session.send(.error(request: request, code: .sessionInUse,
                                       text: "durable session '\(durableName)' is in use by another connection"))
        }
        let now = Environment.wallClockMilliseconds()
        let existing = durableSessions.records[key]
        let record: SessionRecord
        var lostToExpiry: UInt64 = 0
        if let existing, !existing.expired {
            record = SessionRecord(cursor: existing.cursor, lastSeen: now)
        } else {
            record = SessionRecord(cursor: startPosition - 1, lastSeen: now)
            if let existing, startPosition > existing.cursor + 1 { lostToExpiry = startPosition - existing.cursor - 1 }
        }
        let subscription = Subscription(number: newNumber(), topic: state, session: session, durableKey: key,
                                        nextPosition: record.cursor + 1, acknowledged: record.cursor)
        subscription.noteDropped(lostToExpiry, reason: .sessionExpired)
        register(subscription)
        durableSessions.attach(key, record: record, subscription: subscription.number)
        let resumed = existing.map { !$0.expired } ?? false
        logger.debug("\(session.label) \(resumed ? "resumed" : "opened") durable session '\(durableName)' on \(topic.text) at position \(record.cursor + 1)")
        write(.sessionOpened(subscription: subscription, request: request, resumed: resumed)) { .putSession(key, record, ticket: $0) }
    }

    /// Where a new subscription starts.
    private func position(for start: SubscriptionStart, on state: TopicState) -> UInt64 {
        let log = state.log
        switch start {
        case .live: return log.next
        case .beginning: return log.first
        case .position(let position): return max(1, position)
        case .time(let time):
            do { return try store.position(atOrAfter: time, topic: state.descriptor.descriptor.topic, log: log) } catch {
                logger.error("cannot search topic \(state.descriptor.descriptor.topic.text) by time: \(error.message)")
                return log.next
            }
        }
    }

    private func register(_ subscription: Subscription) {
        serve(subscription.topicID)
        subscription.session.subscriptions[subscription.topicID] = subscription
        subscription.topic.subscriptions[subscription.number] = subscription
    }

    /// Starts deliveries (from the store until caught up).
    func activate(_ subscription: Subscription) {
        subscription.isActive = true
        pump(subscription)
    }

    /// Ends a subscription on this broker; a durable session keeps its cursor.
    func detach(_ subscription: Subscription) {
        subscription.isActive = false
        subscription.isLive = false
        subscription.topic.subscriptions.removeValue(forKey: subscription.number)
        subscription.topic.liveSubscriptions.removeValue(forKey: subscription.number)
        if let key = subscription.durableKey {
            durableSessions.detach(key, subscription: subscription.number, now: Environment.wallClockMilliseconds())
        }
    }

    func acknowledge(_ topic: TopicID, position: UInt64, from session: EdgeSession) {
        guard let subscription = session.subscriptions[topic] else { return }
        // A client cannot acknowledge what it was not sent.
        let position = min(position, subscription.nextPosition - 1)
        guard position > subscription.acknowledged else { return }
        subscription.acknowledged = position
        recordCursor(of: subscription)
    }

    /// A durable cursor moves only over committed positions: an event delivered before its commit
    /// may still fail to be stored, and its position then goes to another event.
    private func recordCursor(of subscription: Subscription) {
        guard let key = subscription.durableKey else { return }
        recordCursor(key, through: subscription.acknowledged, on: subscription.topic)
    }

    private func recordCursor(_ key: SessionKey, through position: UInt64, on state: TopicState) {
        let committed = state.log.next - 1
        durableSessions.acknowledge(key, through: min(position, committed))
        state.acknowledgedAhead[key] = position > committed ? position : nil
    }

    /// Moves the cursors that waited for the topic's commits.
    func recordAcknowledgementsAhead(on state: TopicState) {
        guard !state.acknowledgedAhead.isEmpty else { return }
        for (key, position) in state.acknowledgedAhead where position < state.log.next { recordCursor(key, through: position, on: state) }
    }

    // MARK: Delivery

    /// Gives an event handed to the store the position it is expected to get, and delivers it to
    /// live subscribers at once (protocol §9.3), unless the store is refusing data.
    func handToStore(_ event: SignedEvent) {
        guard let state = topics[event.event.topic] else { return }
        let position = state.appends.nextPosition(committedNext: state.log.next)
        let early = !storeRefusesData && (state.appends.last?.deliveredEarly ?? true)
        state.appends.append(UncommittedAppends.Entry(event: event, position: position, deliveredEarly: early))
        if early { deliverLive(event, at: position, on: state) }
    }

    /// Checks the store's result for the oldest uncommitted event of its topic against the
    /// position it was expected to get. A mismatch (the commit failed, or the store refused what
    /// the loop let through) means subscribers were sent events at positions that now belong to
    /// others, so they are set back.
    func settleAppend(_ event: SignedEvent, result: StoreResult, on state: TopicState) {
        let appendedAt: UInt64?
        if case .appended(let position, _) = result { appendedAt = position } else { appendedAt = nil }
        switch result {
        case .appended: storeRefusesData = false
        case .failed: storeRefusesData = true
        default: break
        }
        guard let entry = state.appends.first, entry.event.id == event.id else {
            // Handed to the store before the broker knew the topic.
            if let appendedAt { deliverLive(event, at: appendedAt, on: state) }
            return
        }
        state.appends.removeFirst()
        if appendedAt == entry.position {
            if !entry.deliveredEarly {
                deliverLive(event, at: entry.position, on: state)
                // The store takes data again: what waits behind goes out now, and later events early.
                if !storeRefusesData {
                    for waiting in state.appends.deliverAllEarly() { deliverLive(waiting.event, at: waiting.position, on: state) }
                }
            }
            return
        }
        state.appends.holdBack(renumberingFrom: appendedAt.map { $0 + 1 } ?? entry.position)
        if let appendedAt { logger.error("the store appended event \(event.id) at position \(appendedAt), not at \(entry.position)") }
        let from = min(entry.position, appendedAt ?? entry.position)
        if entry.deliveredEarly { setBack(state, from: from) }
        if let appendedAt { deliverLive(event, at: appendedAt, on: state) }
    }

    /// Subscriptions sent anything from `position` on: the connections of durable ones are closed,
    /// so that no acknowledgement in flight can cover an event they were not sent; the others read
    /// again from `position` (the client drops what it already has by ID and sequence).
    private func setBack(_ state: TopicState, from position: UInt64) {
        for subscription in state.subscriptions.values where subscription.lastSent >= position {
            statistics.subscribersSetBack += 1
            if let key = subscription.durableKey {
                // What it acknowledged from here on were other events.
                if let ahead = state.acknowledgedAhead[key], ahead >= position { recordCursor(key, through: position - 1, on: state) }
                subscription.session.subscriptions.removeValue(forKey: subscription.topicID)
                detach(subscription)
                subscription.session.close(afterSending: (.internalError, """
                    the broker delivered events of topic \(state.descriptor.descriptor.topic.text) from position \(position) that it \
                    then failed to store; resume the durable session to receive what was stored
                    """))
            } else {
                subscription.isLive = false
                state.liveSubscriptions.removeValue(forKey: subscription.number)
                subscription.nextPosition = position
                pump(subscription)
            }
        }
    }

    /// Pushes an event to every live subscriber; one that has too much queued falls back to its
    /// position and catches up from the store when its connection drains.
    func deliverLive(_ event: SignedEvent, at position: UInt64, on state: TopicState) {
        guard !state.liveSubscriptions.isEmpty else { return }
        let message = EdgeMessage.deliver(position: position, encodedEvent: event.encoded)
        for subscription in state.liveSubscriptions.values where position >= subscription.nextPosition {
            if subscription.session.queuedOutput > configuration.deliveryBuffer {
                subscription.isLive = false
                state.liveSubscriptions.removeValue(forKey: subscription.number)
                statistics.subscribersFellBehind += 1
                logger.debug("\(subscription.session.label) fell behind on \(subscription.topicID.text) at position \(subscription.nextPosition)")
                subscription.session.connection.notifyWhenDrained()
                continue
            }
            send(message, at: position, to: subscription)
        }
    }

    /// Reads from the store and sends while the connection has room; turns the subscription live
    /// once it has everything committed. Stopped by a full connection, it goes on when that drains.
    func pump(_ subscription: Subscription) {
        sendFromStore(subscription)
        let session = subscription.session
        if subscription.isActive, !subscription.isLive, !session.isClosing { session.connection.notifyWhenDrained() }
    }

    private func sendFromStore(_ subscription: Subscription) {
        let session = subscription.session
        guard subscription.isActive, !subscription.isLive, !session.isClosing, session.connection.isOpen else { return }
        let state = subscription.topic
        let now = Environment.wallClockMilliseconds()
        while session.queuedOutput < configuration.deliveryBuffer {
            let log = state.log
            if subscription.nextPosition < log.first {
                for (reason, count) in log.droppedCounts(from: subscription.nextPosition) { subscription.noteDropped(count, reason: reason) }
                subscription.nextPosition = log.first
            }
            let waiting = log.next > subscription.nextPosition ? log.next - subscription.nextPosition : 0
            if waiting > configuration.sessionQuota {
                let skipped = waiting - configuration.sessionQuota
                subscription.noteDropped(skipped, reason: .sessionQuota)
                subscription.nextPosition += skipped
            }
            if subscription.nextPosition >= log.next {
                // Then what is on its way to the store, before it is live.
                for entry in state.appends.deliveredEarly(from: subscription.nextPosition) {
                    guard session.queuedOutput < configuration.deliveryBuffer else { return sendDropNotices(subscription) }
                    send(EdgeMessage.deliver(position: entry.position, encodedEvent: entry.event.encoded), at: entry.position, to: subscription)
                }
                subscription.isLive = true
                state.liveSubscriptions[subscription.number] = subscription
                break
            }
            let events: [StoredEvent]
            do {
                events = try store.events(topic: subscription.topicID, from: subscription.nextPosition, maximumCount: 256, maximumBytes: 256 << 10)
            } catch {
                logger.error("cannot read topic \(subscription.topicID.text) for \(session.label): \(error.message)")
                return session.close(afterSending: (.internalError, "the broker cannot read its store"))
            }
            // The store may hold commits the loop has not heard of yet; those wait.
            guard let first = events.first, first.position < log.next else {
                logger.error("topic \(subscription.topicID.text) has no stored events at \(subscription.nextPosition)..<\(log.next)")
                subscription.nextPosition = log.next
                continue
            }
            for stored in events where stored.position < log.next {
                if stored.position > subscription.nextPosition {
                    subscription.noteDropped(stored.position - subscription.nextPosition, reason: .expired)
                }
                if stored.isExpired(at: now) {
                    subscription.noteDropped(1, reason: .expired)
                    subscription.nextPosition = stored.position + 1
                    continue
                }
                send(EdgeMessage.deliver(position: stored.position, encodedEvent: stored.encoded), at: stored.position, to: subscription)
            }
        }
        sendDropNotices(subscription)
    }

    private func send(_ message: [UInt8], at position: UInt64, to subscription: Subscription) {
        sendDropNotices(subscription)
        subscription.session.send(encoded: message)
        subscription.lastSent = position
        subscription.nextPosition = position + 1
        statistics.eventsDelivered += 1
    }

    /// Tells the client what it missed, and counts it.
    private func sendDropNotices(_ subscription: Subscription) {
        guard !subscription.pendingDrops.isEmpty else { return }
        for (reason, count) in subscription.pendingDrops {
            subscription.session.send(.dropped(topic: subscription.topicID, reason: reason, count: count))
            statistics.eventsDropped[reason, default: 0] += count
            logger.info("\(subscription.session.label) missed \(count) event(s) of \(subscription.topicID.text): \(reason.name)")
        }
        subscription.pendingDrops.removeAll()
    }

    // MARK: Durable sessions

    func saveDirtySessions() {
        let changed = durableSessions.takeDirty()
        guard !changed.isEmpty else { return }
        for (key, record) in changed {
            write(.sessionSaved(key)) { .putSession(key, record, ticket: $0) }
        }
    }

    func expireAbandonedSessions() {
        let expiry = UInt64(configuration.sessionExpiry * 1000)
        let (expired, removed) = durableSessions.expire(now: Environment.wallClockMilliseconds(), expiry: expiry)
        for key in expired {
            statistics.sessionsExpired += 1
            logger.info("durable session '\(key.name)' of \(key.client.text) on \(key.topic.text) expired after \(configuration.sessionExpiry) s detached")
        }
        for key in removed {
            write(.sessionSaved(key)) { .deleteSession(key, ticket: $0) }
        }
    }
}
