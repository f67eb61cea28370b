import EventLoop
import Platform
import Store
import Wire

extension Broker {
    /// Checks admission now and the signature on a worker; accepted events go to the store in
    /// arrival order and are acknowledged once committed.
    func publish(_ event: SignedEvent, request: UInt32, from session: EdgeSession) {
        if let problem = admissionProblem(event.event) {
            return answer(request, refusing: problem, to: session)
        }
        let ticket = session.enqueuePublish(request: request, event: event)
        if session.publishesInFlight >= configuration.maximumPendingPublishes { session.connection.pauseReading() }
        verifyOffLoop(event) { [self, session] verification in verified(ticket: ticket, verification, on: session) }
    }

    /// Checks an event's signature on a verifier thread; `done` runs on the loop with the outcome.
    func verifyOffLoop(_ event: SignedEvent, done: @escaping (EdgeSession.Verification) -> Void) {
        let bound = LoopBound({ [unowned self] (verification: EdgeSession.Verification, seconds: Double) in
            statistics.signatureVerifySeconds.record(seconds)
            done(verification)
        }, loop: loop)
        verifiers.submit { [loop] in
            let started = Environment.monotonicNanoseconds()
            let verification: EdgeSession.Verification
            do throws(WireError) {
                try event.verifySignature()
                verification = .valid
            } catch {
                verification = .invalid(error.message)
            }
            let seconds = Double(Environment.monotonicNanoseconds() - started) / 1e9
            loop.execute { bound.value(verification, seconds) }
        }
    }

    /// Answers a publish with an error, counting it by code (nothing when no client waits).
    func answer(_ request: UInt32, refusing problem: (code: ErrorCode, text: String), to session: EdgeSession?) {
        guard let session else { return }
        statistics.publishesRefused[problem.code, default: 0] += 1
        session.send(.error(request: request, code: problem.code, text: problem.text))
    }

    func admissionProblem(_ event: Event) -> (code: ErrorCode, text: String)? {
        guard let state = topics[event.topic] else {
            return (.unknownTopic, "the broker has no topic \(event.topic.text)")
        }
        guard state.descriptor.descriptor.allowsPublisher(event.publisher) else {
            return (.notAllowedToPublish, "\(event.publisher.text) may not publish on topic \(event.topic.text)")
        }
        if event.expiry != 0 && event.expiry <= Environment.wallClockMilliseconds() {
            return (.expired, "the event expired before it reached the broker")
        }
        return nil
    }

    private func verified(ticket: UInt64, _ verification: EdgeSession.Verification, on session: EdgeSession) {
        guard sessions[session.number] != nil, !session.isClosing,
              let index = session.pendingPublishes.firstIndex(where: { $0.ticket == ticket }) else { return }
        session.pendingPublishes[index].verification = verification
        // Accept in arrival order: only the completed prefix of the queue.
        while let first = session.pendingPublishes.first {
            switch first.verification {
            case .pending:
                return
            case .invalid(let text):
                session.pendingPublishes.removeAll()
                return refuse(session, .badSignature, text)
            case .valid:
                session.pendingPublishes.removeFirst()
                accept(first.event, request: first.request, from: session)
            }
        }
    }

    /// Takes a verified local publish through the overlay's causal delivery: it is stored (and
    /// answered) once released, at once unless it waits for a dependency the broker lacks.
    private func accept(_ event: SignedEvent, request: UInt32, from session: EdgeSession) {
        // The descriptor may have changed while the signature was checked.
        if let problem = admissionProblem(event.event) {
            return answer(request, refusing: problem, to: session)
        }
        let head = overlay.causal.head(topic: event.event.topic, publisher: event.event.publisher)?.sequence ?? 0
        if event.event.sequence > head + 1 {
            return answer(request, refusing: (.sequenceConflict,
                                              "sequence \(event.event.sequence) leaves a gap: the publisher's last is \(head), so the next is \(head + 1)"),
                          to: session)
        }
        serve(event.event.topic)
        localPublishes[event.id] = (session.number, request)
        session.storingPublishes += 1
        let (arrival, actions) = overlay.publish(event, now: overlayNow(), archive: archive)
        switch arrival {
        case .accepted:
            break  // answered when committed
        case .duplicate:
            // A retry of an event already delivered: acknowledge it once it is durable.
            let durable = uncommitted[event.id] == nil && ((try? store.contains(topic: event.event.topic, id: event.id)) ?? false)
            answered(event, session: session)
            if durable {
                session.send(.publishAck(request: request, eventID: event.id))
            } else {
                answer(request, refusing: (.overloaded, "the event is being stored; retry shortly"), to: session)
            }
        case .equivocation(let existing):
            answered(event, session: session)
            answer(request, refusing: (.sequenceConflict, """
                sequence \(event.event.sequence) is not after the publisher's last, \(head): event \(existing) already has it
                """), to: session)
        case .overflow:
            answered(event, session: session)
            answer(request, refusing: (.overloaded, "too many events wait for their dependencies; retry later"), to: session)
        }
        perform(actions)
    }

    /// A local publish answered without being stored.
    private func answered(_ event: SignedEvent, session: EdgeSession) {
        localPublishes[event.id] = nil
        session.storingPublishes -= 1
    }

    /// Answers a publish once the store has decided on it.
    func published(_ event: SignedEvent, result: StoreResult, request: UInt32, session: EdgeSession?) {
        uncommitted[event.id] = nil
        if let session {
            session.storingPublishes -= 1
            if session.publishesInFlight < configuration.maximumPendingPublishes / 2 { session.connection.resumeReading() }
        }
        switch result {
        case .appended(let position, _):
            statistics.eventsAccepted += 1
            let state = topics[event.event.topic]
            state?.heads[event.event.publisher] = PublisherHead(sequence: event.event.sequence, eventID: event.id)
            session?.send(.publishAck(request: request, eventID: event.id))
            if let state { deliverLive(event, at: position, on: state) }
        case .duplicate:
            session?.send(.publishAck(request: request, eventID: event.id))  // a retry of the last event
        case .sequenceConflict(let head):
            if session == nil { logger.debug("the store refused event \(event.id) after its publisher's head \(head.sequence)") }
            answer(request, refusing: (.sequenceConflict, "sequence \(event.event.sequence) is not after the publisher's last, \(head.sequence)"),
                   to: session)
        case .failed(let error):
            let full = error.kind == .mapFull || error.kind == .diskFull
            if full { statistics.publishesRefusedForSpace += 1 }
            if session == nil { logger.error("cannot store event \(event.id) released by the overlay: \(error.message)") }
            answer(request, refusing: (full ? .storageFull : .internalError,
                                       full ? "the broker's store is full; publishing is refused until space is freed" : "the broker could not store the event: \(error.message)"),
                   to: session)
        case .stored, .staleDescriptor:
            logger.error("the store answered a publish with \(result)")
        }
    }
}
