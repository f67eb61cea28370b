/// A first-in, first-out queue on one array: the front leaves by moving an index and the dead
/// prefix is cut off in bulk, so taking from the front is O(1) amortised and the elements stay
/// addressable by their distance from the front. Inlinable, so that other modules get it
/// specialized for their element type (unspecialized, every call looked up generic metadata).
public struct ArrayQueue<Element> {
    @usableFromInline var elements: [Element] = []
    @usableFromInline var head = 0

    @inlinable public init() {}

    @inlinable public var count: Int { elements.count - head }
    @inlinable public var isEmpty: Bool { head == elements.count }
    @inlinable public var first: Element? { isEmpty ? nil : elements[head] }
    @inlinable public var last: Element? { isEmpty ? nil : elements[elements.count - 1] }

    @inlinable public mutating func append(_ element: Element) { elements.append(element) }

    /// Takes the front element off; nil when empty.
    @inlinable @discardableResult
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

    @inlinable public mutating func removeAll() {
        elements.removeAll()
        head = 0
    }

    /// The element `offset` places behind the front (0: the front).
    @inlinable public subscript(offset: Int) -> Element {
        get { elements[head + offset] }
        set { elements[head + offset] = newValue }
    }

    /// The elements from `offset` places behind the front to the back, without copying.
    @inlinable public func suffix(fromOffset offset: Int) -> ArraySlice<Element> { elements[(head + min(offset, count))...] }
}
