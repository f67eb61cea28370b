import Overlay
import EventLoop
import Platform
import Store
import Wire

extension Broker {
    /// Checks admission now and the signature at the end of the loop turn (`verify`); accepted
    /// events go to the store in arrival order and are acknowledged once committed. A chained
    /// event (§6.4) waits for its successor's signature instead. A chain is kept whole or not at all: a member that admission
    /// refuses ends the connection, so that no part of the chain is stored without its signed end.
    func publish(_ event: SignedEvent, request: UInt32, from session: EdgeSession) {
        let publishes = session.makePublishes()
        let inChain = publishes.isInChain || event.isChained
        if let broken = publishes.chainProblem(continuingWith: event) {
            return refuse(session, .badSignature, broken)
        }
        if let problem = admissionProblem(event.event) {
            if inChain { return refuse(session, problem.code, "an event of a chain is refused, so the whole chain is: \(problem.text)") }
            return answer(request, refusing: problem, to: session)
        }
        let ticket = publishes.pending.append(EdgePublishes.Pending(request: request, event: event), event: event)
        // The rest of an open chain (at most 256 events, 256 KiB) is still read, or its signed end never would be.
        if publishes.inFlight >= configuration.maximumPendingPublishes && !publishes.isInChain { session.connection.pauseReading() }
        guard let ticket else { return }  // chained: its successor's check settles it
        verify(event) { [self, session] outcome in verified(ticket: ticket, outcome, on: session) }
    }

    /// Checks an event's signature; `done` runs on the loop with the outcome. What one loop turn
    /// asks for is dispatched at the turn's end (`dispatchVerifications`).
    func verify(_ event: SignedEvent, done: @escaping (Result<Void, WireError>) -> Void) {
        if verificationsThisTurn.isEmpty { loop.runAfterCurrentCallbacks { [unowned self] in dispatchVerifications() } }
        verificationsThisTurn.append(PendingVerification(event: event, done: done))
    }

    /// Sends all but the last check of the turn to the verifier threads and does the last (unless
    /// large) on the loop: a lone event, the usual case under light traffic, costs no hand-off to
    /// a thread and back (two wake-ups), and under load the loop's core verifies alongside the
    /// verifiers'. A loop busy with checks reads several frames per turn, which spreads them out.
    /// Without verifier threads (one usable CPU, or `verifierThreads` 0) the loop checks them all,
    /// large ones too: there is no other thread to hand them to.
    private func dispatchVerifications() {
        // Taken and cleared before any `done` runs: `done` may read on and ask for more checks,
        // which then arm their own dispatch (it runs in this same pass of the loop).
        let batch = verificationsThisTurn
        verificationsThisTurn.removeAll(keepingCapacity: true)
        guard let verifiers else {
            for request in batch { verifyOnTheLoop(request) }
            return
        }
        // A large event's check (hashing up to 64 KiB) would hold up every connection: to the workers.
        let inline = batch.last.flatMap { $0.event.encoded.count <= Self.largestEventCheckedOnTheLoop ? $0 : nil }
        for request in inline == nil ? batch[...] : batch.dropLast() {
            let bound = LoopBound({ [unowned self] (outcome: Result<Void, WireError>, seconds: Double) in
                statistics.signatureVerifySeconds.record(seconds)
                request.done(outcome)
            }, loop: loop)
            let event = request.event
            verifiers.submit { [loop] in
                let (outcome, seconds) = Self.checkSignature(of: event)
                loop.execute { bound.value(outcome, seconds) }
            }
        }
        if let inline { verifyOnTheLoop(inline) }
    }

    private func verifyOnTheLoop(_ request: PendingVerification) {
        let (outcome, seconds) = Self.checkSignature(of: request.event)
        statistics.signatureVerifySeconds.record(seconds)
        request.done(outcome)
    }

    /// Events up to this size may be checked on the loop (tens of microseconds).
    static let largestEventCheckedOnTheLoop = 16 * 1024

    private static func checkSignature(of event: SignedEvent) -> (Result<Void, WireError>, seconds: Double) {
        let started = Environment.monotonicNanoseconds()
        let outcome = Result<Void, WireError> { () throws(WireError) in try event.verifySignature() }
        return (outcome, Double(Environment.monotonicNanoseconds() - started) / 1e9)
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

    private func verified(ticket: UInt64, _ outcome: Result<Void, WireError>, on session: EdgeSession) {
        guard sessions[session.number] != nil, !session.isClosing, let publishes = session.publishes else { return }
        publishes.pending.checked(ticket, outcome)
        // Accept in arrival order: only the authentic prefix of the queue.
        while true {
            switch publishes.pending.front {
            case .empty, .waiting:
                return
            case .forged(_, let text):
                publishes.pending.removeAll()
                return refuse(session, .badSignature, text)
            case .ready(let first):
                publishes.pending.removeFront()
                accept(first.event, request: first.request, from: session, publishes: publishes)
                resumeReadingIfDrained(session)
            }
        }
    }

    /// Takes a verified local publish through the overlay's causal delivery: it is stored (and
    /// answered) once released, at once unless it waits for a dependency the broker lacks.
    private func accept(_ event: SignedEvent, request: UInt32, from session: EdgeSession, publishes: EdgePublishes) {
        // The descriptor may have changed while the signature was checked.
        if let problem = admissionProblem(event.event) {
            return answer(request, refusing: problem, to: session)
        }
        let head = overlay.causal.head(topic: event.event.topic, publisher: event.event.publisher)?.sequence ?? 0
        if event.event.sequence > head && event.event.sequence - head > 1 {
            return answer(request, refusing: (.sequenceConflict,
                                              "sequence \(event.event.sequence) leaves a gap: the publisher's last is \(head), so the next is \(head + 1)"),
                          to: session)
        }
        serve(event.event.topic)
        publishes.storing += 1
        let (arrival, actions) = overlay.publish(event, now: overlayNow(), archive: archive)
        switch arrival {
        case .accepted(let released):
            // Answered when committed. Released at once, as usual, it goes to the store in
            // `perform` below; held for dependencies, when they arrive.
            if released.first?.event === event {
                releasedLocalPublish = (event, session.number, request)
            } else {
                localPublishes[event.id] = (session.number, request)
            }
        case .duplicate:
            // A retry of an event already delivered: acknowledge it once it is durable.
            let durable = uncommitted[event.id] == nil && ((try? store.contains(topic: event.event.topic, id: event.id)) ?? false)
            answered(event, session: session, publishes: publishes)
            if durable {
                session.send(.publishAck(request: request, eventID: event.id))
            } else {
                answer(request, refusing: (.overloaded, "the event is being stored; retry shortly"), to: session)
            }
        case .equivocation(let existing):
            answered(event, session: session, publishes: publishes)
            answer(request, refusing: (.sequenceConflict, """
                sequence \(event.event.sequence) is not after the publisher's last, \(head): event \(existing) already has it
                """), to: session)
        case .overflow:
            answered(event, session: session, publishes: publishes)
            answer(request, refusing: (.overloaded, "too many events wait for their dependencies; retry later"), to: session)
        }
        perform(actions)
        releasedLocalPublish = nil  // taken in `perform`; cleared in case the delivery did not reach the store
    }

    /// A local publish answered without being stored.
    private func answered(_ event: SignedEvent, session: EdgeSession, publishes: EdgePublishes) {
        publishes.storing -= 1
        resumeReadingIfDrained(session)
    }

    /// Reading paused at `maximumPendingPublishes` in flight resumes below half of it.
    /// A chain left open counts for nothing here: its signed end is still to be read (a batch may
    /// open one after reading paused, §9.1), so its events wait for reading, not the other way round.
    private func resumeReadingIfDrained(_ session: EdgeSession) {
        if (session.publishes?.inFlightOutsideOpenChain ?? 0) < max(1, configuration.maximumPendingPublishes / 2) {
            session.connection.resumeReading()
        }
    }

    /// The overlay counted an event the store then failed to keep as delivered; without taking
    /// that back, a retry of the event (or a peer's copy) would be taken for a duplicate forever.
    private func forgetDelivery(of event: SignedEvent, on state: TopicState?) {
        let committed = state?.heads[event.event.publisher]?.sequence ?? 0
        overlay.forget(event, committed: committed, archive: archive)
    }

    /// Answers a publish once the store has decided on it.
    func published(_ event: SignedEvent, result: StoreResult, request: UInt32, session: EdgeSession?) {
        uncommitted[event.id] = nil
        let state = topics[event.event.topic]
        if let state { settleAppend(event, result: result, on: state) }
        if let session, let publishes = session.publishes {
            publishes.storing -= 1
            resumeReadingIfDrained(session)
        }
        switch result {
        case .appended:
            statistics.eventsAccepted += 1
            state?.heads[event.event.publisher] = PublisherHead(sequence: event.event.sequence, eventID: event.id)
            session?.send(.publishAck(request: request, eventID: event.id))
        case .duplicate:
            session?.send(.publishAck(request: request, eventID: event.id))  // a retry of the last event
        case .sequenceConflict(let head):
            if session == nil { logger.debug("the store refused event \(event.id) after its publisher's head \(head.sequence)") }
            answer(request, refusing: (.sequenceConflict, "sequence \(event.event.sequence) is not after the publisher's last, \(head.sequence)"),
                   to: session)
        case .failed(let error):
            forgetDelivery(of: event, on: state)
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
