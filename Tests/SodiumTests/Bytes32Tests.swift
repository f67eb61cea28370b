import Sodium
import Testing

@Suite struct Bytes32Tests {
    @Test func holdsExactlyThirtyTwoBytesAndGivesThemBack() {
        let bytes = (0..<32).map { UInt8($0 * 7 & 0xff) }
        #expect(Bytes32(bytes)?.array == bytes)
        #expect(Bytes32(bytes[...])?.array == bytes)
        #expect(Bytes32(bytes.reversed())?.array == bytes.reversed())
        #expect(Bytes32(Array(bytes.prefix(31))) == nil)
        #expect(Bytes32(bytes + [0]) == nil)
        #expect(bytes.withUnsafeBytes { Bytes32(copying: $0) }.array == bytes)
        #expect(Bytes32(bytes)!.withUnsafeBytes { $0.elementsEqual(bytes) })
        #expect(bytes.withUnsafeBytes { Bytes32(bytes)!.elementsEqual($0) })
        #expect(!bytes.withUnsafeBytes { Bytes32().elementsEqual($0) })
    }

    /// The order must be the arrays' lexicographic order: event dependencies are encoded sorted.
    @Test func ordersLikeTheByteArrays() {
        var random = SystemRandomNumberGenerator()
        var values: [[UInt8]] = (0..<200).map { _ in (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) } }
        // Pairs that differ only in a late byte, and in each byte position of a word.
        for position in [0, 7, 8, 15, 31] {
            var low = [UInt8](repeating: 0x80, count: 32), high = low
            low[position] = 0x01; high[position] = 0xfe
            values += [low, high]
        }
        for a in values {
            for b in values.prefix(40) {
                #expect((Bytes32(a)! < Bytes32(b)!) == a.lexicographicallyPrecedes(b))
                #expect((Bytes32(a)! == Bytes32(b)!) == (a == b))
            }
        }
    }

    @Test func equalValuesHashAlike() {
        let bytes = (0..<32).map { UInt8($0) }
        var changed = bytes
        changed[31] ^= 1
        let set: Set<Bytes32> = [Bytes32(bytes)!, Bytes32(bytes)!, Bytes32(changed)!]
        #expect(set.count == 2)
        #expect(set.contains(Bytes32(Array(bytes))!))
    }
}
