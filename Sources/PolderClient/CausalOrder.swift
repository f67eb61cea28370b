import Sodium
import Wire

/// Hands a subscription's events to the application only after the events they follow: the
/// publisher's previous sequence and any dependency that arrived but is still waiting. A broker
/// delivers in causal order already; this is the client's own check, so that an application
/// never sees an effect before its cause from a faulty or partly pruned broker.
///
/// The first event of a publisher is taken as is (a subscription may start mid-stream). An event
/// after a sequence gap waits until the gap fills, until the broker announces dropped events,
/// or until `maximumHeld` events wait; then everything waiting is let go in sequence order.
struct CausalOrder {
    struct Positioned {
        let event: SignedEvent
        let position: UInt64
    }

    let maximumHeld: Int
    private var lastSequence: [SigningPublicKey: UInt64] = [:]
    private var held: [Positioned] = []

    init(maximumHeld: Int = 1024) {
        self.maximumHeld = maximumHeld
    }

    var heldCount: Int { held.count }

    /// Takes one delivered event; returns the events now ready, in order. An event at or before its
    /// publisher's last delivered sequence is dropped (it would go back in time).
    mutating func take(_ event: SignedEvent, position: UInt64) -> [Positioned] {
        if let last = lastSequence[event.event.publisher], event.event.sequence <= last { return [] }
        held.append(Positioned(event: event, position: position))
        if held.count > maximumHeld { return letGo() }
        return releaseReady()
    }

    /// The broker said events were dropped: stop waiting for gaps.
    mutating func letGo() -> [Positioned] {
        var released: [Positioned] = []
        held.sort { ($0.event.event.sequence, $0.position) < ($1.event.event.sequence, $1.position) }
        while !held.isEmpty {
            // Prefer whatever is ready; otherwise the lowest sequence skips its gap.
            let ready = releaseReady()
            released += ready
            guard ready.isEmpty, let first = held.first else { continue }
            held.removeFirst()
            lastSequence[first.event.event.publisher] = first.event.event.sequence
            released.append(first)
        }
        return released
    }

    private mutating func releaseReady() -> [Positioned] {
        var released: [Positioned] = []
        var progress = true
        while progress {
            progress = false
            for (index, candidate) in held.enumerated() where isReady(candidate.event) {
                held.remove(at: index)
                lastSequence[candidate.event.event.publisher] = candidate.event.event.sequence
                released.append(candidate)
                progress = true
                break
            }
        }
        return released
    }

    private func isReady(_ event: SignedEvent) -> Bool {
        if let last = lastSequence[event.event.publisher], event.event.sequence != last + 1 { return false }
        // An earlier event of the same publisher still waiting comes first.
        if held.contains(where: { $0.event.event.publisher == event.event.publisher && $0.event.event.sequence < event.event.sequence }) {
            return false
        }
        return !event.event.dependencies.contains { dependency in held.contains { $0.event.id == dependency } }
    }
}
