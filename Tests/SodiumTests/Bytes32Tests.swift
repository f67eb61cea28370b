@testable import Sodium
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

    /// A published SipHash-1-3 vector (from the reference implementation, as OCaml's test suite
    /// lists it): key all zero, the message 00 01 … 1f.
    @Test func hashesWithSipHash13() {
        let bytes = Bytes32((0..<32).map { UInt8($0) })!
        let words = (bytes.word0.littleEndian, bytes.word1.littleEndian, bytes.word2.littleEndian, bytes.word3.littleEndian)
        #expect(SipHash13.hash(words.0, words.1, words.2, words.3, key: 0, 0) == 0x31ef_8061_c910_629b)
    }

    /// Every word counts, and a dictionary's seed changes the hash (so two dictionaries do not
    /// share their collisions).
    @Test func everyWordAndTheSeedChangeTheHash() {
        let base = Bytes32((0..<32).map { UInt8($0) })!
        let hash = base._rawHashValue(seed: 0)
        for byte in [0, 8, 16, 24, 31] {
            var bytes = base.array
            bytes[byte] ^= 0x80
            #expect(Bytes32(bytes)!._rawHashValue(seed: 0) != hash, "byte \(byte)")
        }
        #expect(base._rawHashValue(seed: 1) != hash)
        #expect(SigningPublicKey(base)._rawHashValue(seed: 7) == base._rawHashValue(seed: 7))
    }

    /// Random keys spread over a small table's buckets about evenly.
    @Test func randomKeysSpreadOverBuckets() {
        var counts = [Int](repeating: 0, count: 64)
        for _ in 0..<64_000 {
            let key = Bytes32 { $0.storeBytes(of: (UInt64.random(in: .min ... .max), UInt64.random(in: .min ... .max),
                                                   UInt64.random(in: .min ... .max), UInt64.random(in: .min ... .max)), as: (UInt64, UInt64, UInt64, UInt64).self) }
            counts[key._rawHashValue(seed: 0) & 63] += 1
        }
        #expect(counts.min()! > 800 && counts.max()! < 1200, "bucket counts \(counts.min()!)…\(counts.max()!)")
    }
}
