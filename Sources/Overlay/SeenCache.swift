/// A bounded set that forgets its oldest members first: which events were already seen, so that
/// a broker forwards each once and a client hands each to the application once.
public struct SeenCache<Element: Hashable & Sendable>: Sendable {
    public let capacity: Int
    private var members: Set<Element> = []
    /// Members in insertion order, overwritten from `next` once full.
    private var order: [Element] = []
    private var next = 0

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    public func contains(_ element: Element) -> Bool { members.contains(element) }

    /// Adds `element`; false if it was already there.
    @discardableResult
    public mutating func insert(_ element: Element) -> Bool {
        guard members.insert(element).inserted else { return false }
        if order.count < capacity {
            order.append(element)
        } else {
            members.remove(order[next])
            order[next] = element
            next = (next + 1) % capacity
        }
        return true
    }

    /// Forgets `element`. Its slot in the insertion order stays until overwritten, so an element
    /// added again soon after may be forgotten early; the cache is a filter, not a record.
    public mutating func remove(_ element: Element) {
        members.remove(element)
    }
}
