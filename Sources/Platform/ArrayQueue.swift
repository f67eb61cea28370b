/// A first-in, first-out queue on one array: the front leaves by moving an index and the dead
/// prefix is cut off in bulk, so taking from the front is O(1) amortised and the elements stay
/// addressable by their distance from the front.
public struct ArrayQueue<Element> {
    private var elements: [Element] = []
    private var head = 0

    public init() {}

    public var count: Int { elements.count - head }
    public var isEmpty: Bool { head == elements.count }
    public var first: Element? { isEmpty ? nil : elements[head] }
    public var last: Element? { isEmpty ? nil : elements[elements.count - 1] }

    public mutating func append(_ element: Element) { elements.append(element) }

    /// Takes the front element off; nil when empty.
    @discardableResult
    public mutating func removeFirst() -> Element? {
        guard !isEmpty else { return nil }
        let element = elements[head]
        head += 1
        if head == elements.count {
            elements.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64 && head * 2 >= elements.count {
            elements.removeFirst(head)
            head = 0
        }
        return element
    }

    public mutating func removeAll() {
        elements.removeAll()
        head = 0
    }

    /// The element `offset` places behind the front (0: the front).
    public subscript(offset: Int) -> Element {
        get { elements[head + offset] }
        set { elements[head + offset] = newValue }
    }

    /// The elements from `offset` places behind the front to the back, without copying.
    public func suffix(fromOffset offset: Int) -> ArraySlice<Element> { elements[(head + min(offset, count))...] }
}
