import Wire

/// A session's publishes on their way into the store: those whose events are not yet authentic
/// (signature being checked, or chained and waiting for their successor), in arrival order so
/// that acceptance follows publish order; those being stored; and the chain left open. A session
/// makes it on its first publish: the many connections that only subscribe, or sit idle, carry
/// none of it.
final class EdgePublishes {
    /// A publish whose event is not yet authentic, and the request to answer.
    struct Pending {
        let request: UInt32
        let event: SignedEvent
    }

    /// Publishes not yet authentic. A client sends a chain in order, so no vouchers are kept.
    var pending = AuthenticationQueue<Pending>(voucherCapacity: 0)
    /// Publishes accepted for storing and not yet answered.
    var storing = 0
    /// The last publish when it was chained, and how many chained publishes (and encoded bytes of
    /// them) lead up to it: the next publish must be its successor (protocol/README.md, §9.1).
    private var openChain: (event: SignedEvent, length: Int, bytes: Int)?

    /// Publishes in flight; the session's reading pauses when there are too many.
    var inFlight: Int { pending.count + storing }
    /// Publishes in flight that are not part of the open chain: the chain's signed end is still to
    /// be read, so its events wait for reading, not the other way round.
    var inFlightOutsideOpenChain: Int { inFlight - openChainLength }
    /// Whether a chain is open: its events are checked for admission only once it is authentic.
    var isInChain: Bool { openChain != nil }
    /// Chained publishes of the open chain, all waiting for its signed end.
    var openChainLength: Int { openChain?.length ?? 0 }

    /// Checks that a publish keeps the chain rule and records it; returns what is wrong, or nil.
    func chainProblem(continuingWith event: SignedEvent) -> String? {
        if event.isChained && event.event.sequence == Limits.maximumSequence {
            return "event \(event.id) is chained but has the highest sequence, so nothing can follow it"
        }
        if let open = openChain {
            guard event.vouches(for: open.event) else {
                return """
                    chained event \(open.event.id) must be followed by its successor: sequence \(open.event.event.sequence &+ 1) \
                    of the same publisher and topic, listing its ID as a dependency
                    """
            }
            guard event.isChained else {
                openChain = nil
                return nil
            }
            guard open.length < Limits.maximumChainLength else {
                return "more than \(Limits.maximumChainLength) chained events in a row; at least every \(Limits.maximumChainLength + 1)th must be signed"
            }
            let bytes = open.bytes + event.encoded.count
            guard bytes <= Limits.maximumChainBytes else {
                return "chained events in a row may total at most \(Limits.maximumChainBytes) bytes; event \(event.id) would make \(bytes)"
            }
            openChain = (event, open.length + 1, bytes)
        } else if event.isChained {
            openChain = (event, 1, event.encoded.count)
        }
        return nil
    }
}
