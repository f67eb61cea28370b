import Wire

/// Read access to the events a broker has delivered and still keeps (the broker's store, or the
/// simulator's memory). The overlay asks it to answer peers' requests and to learn whether a
/// dependency is already delivered; it never writes.
public protocol EventArchive {
    func contains(topic: TopicID, id: EventID) -> Bool
    func event(topic: TopicID, id: EventID) -> SignedEvent?
    func eventID(topic: TopicID, publisher: PeerID, sequence: UInt64) -> EventID?
    /// Kept events of `publisher` with sequences `from`…`through`, ascending, at most `limit`.
    func events(topic: TopicID, publisher: PeerID, from: UInt64, through: UInt64, limit: Int) -> [SignedEvent]
    /// The lowest sequence of `publisher` still kept on `topic`.
    func floor(topic: TopicID, publisher: PeerID) -> UInt64?
}
