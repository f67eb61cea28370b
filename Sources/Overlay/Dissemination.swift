import Wire

/// PolderCast's forwarding rule with fanout F. An event from a ring neighbour goes on to the
/// neighbour on the *other* side (so it keeps travelling away from where it came; RingCast's
/// reference code sent it back the same way) plus F−1 random peers serving the topic; an event
/// from anyone else, or published here, goes to both nearest ring neighbours plus F−2.
public enum Dissemination {
    public static func targets(from sender: PeerID?, ring: TopicRings.Ring, subscribers: [PeerID], fanout: Int,
                               random: inout SeededRandom) -> [PeerID] {
        var chosen: [PeerID] = []
        func add(_ peer: PeerID?) {
            guard let peer, peer != sender, !chosen.contains(peer) else { return }
            chosen.append(peer)
        }
        let fromPredecessor = sender.map { s in ring.predecessors.contains { $0.broker == s } } ?? false
        let fromSuccessor = sender.map { s in ring.successors.contains { $0.broker == s } } ?? false
        if fromPredecessor && !fromSuccessor {
            add(ring.successors.first?.broker)
        } else if fromSuccessor && !fromPredecessor {
            add(ring.predecessors.first?.broker)
        } else if !fromPredecessor {
            add(ring.predecessors.first?.broker)
            add(ring.successors.first?.broker)
        }
        // From a neighbour on both sides (a ring of two or three), the ring has nothing more to add.
        let wanted = max(0, (fromPredecessor || fromSuccessor) ? fanout - 1 : fanout - 2)
        let others = subscribers.filter { $0 != sender && !chosen.contains($0) }
        chosen += others.randomSample(wanted, using: &random)
        return chosen
    }
}
