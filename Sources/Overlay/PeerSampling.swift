import Sodium
import Wire

/// A broker in the overlay, named by its public key.
public typealias PeerID = SigningPublicKey

/// CYCLON peer sampling (Voulgaris, Gavidia, van Steen 2005): a small view of random peers,
/// refreshed by shuffling entries with the oldest neighbour each period. The shuffle target is
/// taken out of the view, so a peer that never answers is forgotten.
public struct PeerSampling: Sendable {
    public let me: PeerID
    public let capacity: Int
    public let shuffleLength: Int
    public private(set) var view: [ViewEntry] = []
    /// Entries sent in shuffles still unanswered, by target: the slots their answers may take.
    private var sent: [PeerID: [PeerID]] = [:]

    public init(me: PeerID, capacity: Int, shuffleLength: Int) {
        self.me = me
        self.capacity = capacity
        self.shuffleLength = shuffleLength
    }

    public func contains(_ peer: PeerID) -> Bool { view.contains { $0.broker == peer } }

    /// Takes a peer learned outside shuffles (bootstrap, a new link): into a free slot, or as a
    /// newer profile of a peer already held.
    public mutating func add(_ profile: SignedBrokerProfile) {
        guard profile.broker != me else { return }
        if let index = view.firstIndex(where: { $0.broker == profile.broker }) {
            if profile.profile.issued > view[index].profile.profile.issued { view[index].profile = profile }
        } else if view.count < capacity {
            view.append(ViewEntry(profile: profile))
        }
    }

    public mutating func remove(_ peer: PeerID) {
        view.removeAll { $0.broker == peer }
    }

    /// Starts a shuffle: ages every entry, takes the oldest out as the target, and returns it
    /// with the entries to send (a fresh one of ours first).
    public mutating func startShuffle(me ownEntry: ViewEntry, random: inout SeededRandom) -> (target: PeerID, entries: [ViewEntry])? {
        guard !view.isEmpty else { return nil }
        for index in view.indices where view[index].age < .max { view[index].age += 1 }
        let oldest = view.indices.max { view[$0].age < view[$1].age }!
        let target = view.remove(at: oldest)
        let offered = view.randomSample(shuffleLength - 1, using: &random)
        if sent.count > 16 { sent.removeAll() }  // answers that never came
        sent[target.broker] = offered.map(\.broker)
        return (target.broker, [ownEntry] + offered)
    }

    /// Answers a shuffle from `requester`: up to `shuffleLength` random entries, whose slots the
    /// received entries may then take.
    public mutating func answerShuffle(from requester: PeerID, entries received: [ViewEntry], random: inout SeededRandom) -> [ViewEntry] {
        let reply = view.filter { $0.broker != requester }.randomSample(shuffleLength, using: &random)
        merge(received, replacing: reply.map(\.broker))
        return reply
    }

    /// Takes the answer to our shuffle with `target`.
    public mutating func finishShuffle(from target: PeerID, entries received: [ViewEntry]) {
        let offered = sent.removeValue(forKey: target) ?? []
        merge(received, replacing: offered)
    }

    /// Received entries fill empty slots first, then the slots of entries we sent away.
    private mutating func merge(_ received: [ViewEntry], replacing offered: [PeerID]) {
        var replaceable = offered
        for entry in received where entry.broker != me {
            if let index = view.firstIndex(where: { $0.broker == entry.broker }) {
                if entry.profile.profile.issued > view[index].profile.profile.issued { view[index].profile = entry.profile }
                continue
            }
            if view.count < capacity {
                view.append(entry)
                continue
            }
            while let victim = replaceable.popLast() {
                if let index = view.firstIndex(where: { $0.broker == victim }) {
                    view[index] = entry
                    break
                }
            }
        }
    }
}
