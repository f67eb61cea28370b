import Platform

/// Received items kept in arrival order until the events they carry are authentic (protocol/README.md,
/// §6.4): a signed event once its signature has been checked (the receiver does that, often on
/// another thread, and reports back with its ticket), a chained event once an authentic successor
/// vouches for it. Items leave only from the front, so a receiver acts on them in the order they
/// were sent. Brokers keep one per peer link and per client session that publishes, clients one per
/// subscription. Inlinable, so that
/// those modules get it specialized for their element (unspecialized, each call looked up the
/// generic metadata of its entries: 3 % of a broker's instructions per event).
public struct AuthenticationQueue<Element> {
    /// What the front of the queue allows.
    public enum Front {
        /// The front item is authentic (or carries no event): act on it.
        case ready(Element)
        /// The front item's event failed its check; the text says why.
        case forged(Element, String)
        /// The front item waits for its check or for a successor.
        case waiting
        case empty
    }

    @usableFromInline enum State {
        case waiting
        case authentic
        case forged(String)
    }

    @usableFromInline struct Entry {
        @usableFromInline let ticket: UInt64
        @usableFromInline let element: Element
        @usableFromInline let event: SignedEvent?
        @usableFromInline var state: State

        @inlinable init(ticket: UInt64, element: Element, event: SignedEvent?, state: State) {
            self.ticket = ticket
            self.element = element
            self.event = event
            self.state = state
        }
    }

    /// Entries in ticket order.
    @usableFromInline var entries = ArrayQueue<Entry>()
    /// The ticket of the front entry: every append takes the next ticket, so an entry's distance
    /// from the front follows from its ticket.
    @usableFromInline var frontTicket: UInt64 = 1
    @usableFromInline var nextTicket: UInt64 = 0
    /// Tickets of the chained entries still waiting for a successor, by event ID.
    @usableFromInline var waitingChained: [EventID: Tickets] = [:]
    /// Chained events an authentic successor named before they arrived.
    @usableFromInline var vouchers: ChainVouchers

    /// `voucherCapacity` bounds the successors remembered for chained events not yet received; a
    /// receiver that always gets a chain in order (a broker's client connection, a subscription)
    /// passes 0 and remembers none.
    @inlinable public init(voucherCapacity: Int) {
        vouchers = ChainVouchers(capacity: voucherCapacity)
    }

    @inlinable public var count: Int { entries.count }
    @inlinable public var isEmpty: Bool { count == 0 }

    /// Queues an item. Returns a ticket when `event` is signed and its signature must be checked
    /// (report with `checked`); nil when nothing is to be checked: no event, or a chained one.
    @inlinable public mutating func append(_ element: Element, event: SignedEvent?) -> UInt64? {
        nextTicket += 1
        if entries.isEmpty { frontTicket = nextTicket }
        guard let event else {
            entries.append(Entry(ticket: nextTicket, element: element, event: nil, state: .authentic))
            return nil
        }
        if event.isChained {
            let vouched = vouchers.redeem(event)
            entries.append(Entry(ticket: nextTicket, element: element, event: event, state: vouched ? .authentic : .waiting))
            if vouched { settlePredecessors(from: entries.count - 1, as: .authentic) } else { waitingChained[event.id, default: Tickets()].add(nextTicket) }
            return nil
        }
        entries.append(Entry(ticket: nextTicket, element: element, event: event, state: .waiting))
        return nextTicket
    }

    /// Reports a signature check. An authentic event also authenticates the chained events before
    /// it; a forged one makes them forged too, since only it could have vouched for them.
    @inlinable public mutating func checked(_ ticket: UInt64, _ outcome: Result<Void, WireError>) {
        guard let index = index(of: ticket) else { return }
        switch outcome {
        case .success:
            entries[index].state = .authentic
            settlePredecessors(from: index, as: .authentic)
        case .failure(let error):
            entries[index].state = .forged(error.message)
            settlePredecessors(from: index, as: .forged("the event that should vouch for it is forged: \(error.message)"))
        }
    }

    /// The front item, if it may be acted on; `removeFront` takes it off.
    @inlinable public var front: Front {
        guard let first = entries.first else { return .empty }
        switch first.state {
        case .authentic: return .ready(first.element)
        case .forged(let text): return .forged(first.element, text)
        case .waiting: return .waiting
        }
    }

    @inlinable public mutating func removeFront() {
        guard entries.removeFirst() != nil else { return }
        frontTicket += 1
    }

    /// Drops the front item when it is a chained event still without a successor while more than
    /// `limit` items wait behind it (a faulty sender, or a chain cut short); returns the dropped item.
    @inlinable public mutating func dropUnvouchedFront(whenMoreThan limit: Int) -> Element? {
        guard count - 1 > limit, let dropped = entries.first, case .waiting = dropped.state, dropped.event?.isChained == true else { return nil }
        waitingChained[dropped.event!.id]?.remove(dropped.ticket)
        if waitingChained[dropped.event!.id]?.isEmpty == true { waitingChained[dropped.event!.id] = nil }
        removeFront()
        return dropped.element
    }

    @inlinable public mutating func removeAll() {
        entries.removeAll()
        waitingChained.removeAll()
    }

    /// Where the live entry with `ticket` is, if it is still queued.
    @inlinable func index(of ticket: UInt64) -> Int? {
        guard ticket >= frontTicket, ticket - frontTicket < UInt64(entries.count) else { return nil }
        return Int(ticket - frontTicket)
    }

    /// Walks back from the event at `index`, now authentic or forged, through the chained events
    /// it vouches for, one predecessor at a time (every queued copy of it), giving them its state.
    /// When authentic, a predecessor not queued yet is remembered for when it comes.
    @inlinable mutating func settlePredecessors(from index: Int, as state: State) {
        guard var current = entries[index].event else { return }
        while current.event.sequence > 1 {
            var predecessor: SignedEvent?
            for dependency in current.event.dependencies {
                // Taken out first and put back if it is not the predecessor: one hash in the usual case.
                guard let tickets = waitingChained.removeValue(forKey: dependency) else { continue }
                guard let first = self.index(of: tickets.first), let event = entries[first].event, current.vouches(for: event) else {
                    waitingChained[dependency] = tickets
                    continue
                }
                // Copies of one event share its ID: they all take the state.
                entries[first].state = state
                for ticket in tickets.more { if let copy = self.index(of: ticket) { entries[copy].state = state } }
                predecessor = event
                break
            }
            guard let predecessor else {
                if case .authentic = state, vouchers.capacity > 0 { vouchers.remember(current) }
                return
            }
            current = predecessor
        }
    }
}

extension AuthenticationQueue {
    /// The tickets of the queued copies of one chained event, oldest first: almost always one, kept
    /// without an array of its own (an allocation per chained event).
    @usableFromInline struct Tickets {
        /// 0 when empty: tickets count from 1.
        @usableFromInline private(set) var first: UInt64 = 0
        @usableFromInline var more: [UInt64] = []

        @inlinable init() {}

        @inlinable var isEmpty: Bool { first == 0 }

        @inlinable mutating func add(_ ticket: UInt64) {
            if isEmpty { first = ticket } else { more.append(ticket) }
        }

        @inlinable mutating func remove(_ ticket: UInt64) {
            if first == ticket { first = more.isEmpty ? 0 : more.removeFirst() } else { more.removeAll { $0 == ticket } }
        }
    }
}
