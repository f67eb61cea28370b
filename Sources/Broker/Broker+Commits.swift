import Store
import Wire

extension Broker {
    /// Applies one commit of the store: answers what was waiting for it and delivers new events.
    func committed(_ outcome: CommitOutcome) {
        statistics.commits += 1
        statistics.committedOperations += outcome.batchSize
        statistics.commitSeconds.record(Double(outcome.commitNanoseconds) / 1e9)
        statistics.commitBatchSize.record(Double(outcome.batchSize))
        for (reason, count) in outcome.pruned { statistics.eventsPruned[reason, default: 0] += count }
        if let full = outcome.storageFull {
            storeRefusesData = true
            logger.warning("refusing new data: \(full.message)")
        }
        // The committed tail moves first, so catching-up readers see it too.
        for (topic, log) in outcome.logs { topics[topic]?.log = log }
        for (ticket, result) in outcome.results {
            guard let pending = pendingWrites.removeValue(forKey: ticket) else { continue }
            switch pending {
            case let .publish(session, request, event):
                published(event, result: result, request: request, session: sessions[session])
            case let .peerEvent(event, fromPeer):
                if fromPeer, case .appended = result { statistics.eventsAcceptedFromPeers += 1 }
                published(event, result: result, request: 0, session: nil)
            case let .descriptor(session, request, descriptor):
                storedDescriptor(descriptor, result: result, log: outcome.logs[descriptor.descriptor.topic], request: request,
                                 session: session.flatMap { sessions[$0] }, fromClient: session != nil)
            case let .sessionOpened(subscription, request, resumed):
                openedSession(subscription, result: result, request: request, resumed: resumed)
            case let .sessionSaved(key):
                if case .failed(let error) = result {
                    logger.warning("cannot save durable session '\(key.name)': \(error.message); will retry")
                    durableSessions.markDirty(key)
                }
            }
        }
        // Once the results are checked: a cursor moves only over events the store kept where expected.
        for topic in outcome.logs.keys { if let state = topics[topic] { recordAcknowledgementsAhead(on: state) } }
    }

    private func storedDescriptor(_ descriptor: SignedTopicDescriptor, result: StoreResult, log: TopicLog?, request: UInt32,
                                  session: EdgeSession?, fromClient: Bool) {
        switch result {
        case .stored:
            topics.stored(descriptor)
            guard let state = topics[descriptor.descriptor.topic] else { return }
            if let log { state.log = log }
            dropSubscribersWhoAreNotReaders(of: state)
            logger.info("topic \(descriptor.descriptor.topic.text) '\(descriptor.descriptor.name)' revision \(descriptor.descriptor.revision) stored")
            session?.send(.ok(request: request))
            spread(descriptor)
            if fromClient { serve(descriptor.descriptor.topic) }
        case .staleDescriptor:
            let held = topics[descriptor.descriptor.topic]?.descriptor.descriptor ?? descriptor.descriptor
            session?.send(.error(request: request, code: .staleDescriptor, text: staleText(held)))
        case .failed(let error):
            let full = error.kind == .mapFull || error.kind == .diskFull
            session?.send(.error(request: request, code: full ? .storageFull : .internalError,
                                 text: full ? "the broker's store is full" : "the broker could not store the descriptor: \(error.message)"))
        case .appended, .duplicate, .sequenceConflict:
            logger.error("the store answered a descriptor with \(result)")
        }
    }

    private func openedSession(_ subscription: Subscription, result: StoreResult, request: UInt32, resumed: Bool) {
        let session = subscription.session
        // The client may have gone or unsubscribed while the record was written.
        guard sessions[session.number] != nil, session.subscriptions[subscription.topicID] === subscription else { return }
        switch result {
        case .stored:
            session.send(.subscribed(request: request, resumed: resumed, position: subscription.nextPosition))
            activate(subscription)
        default:
            session.subscriptions.removeValue(forKey: subscription.topicID)
            detach(subscription)
            if case .failed(let error) = result {
                session.send(.error(request: request, code: .internalError, text: "the broker could not save the session: \(error.message)"))
            }
        }
    }
}
