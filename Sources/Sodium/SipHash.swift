/// SipHash-1-3, the keyed hash behind the standard library's `Hasher`, for exactly four words,
/// written out so that it inlines. Dictionaries keyed by public keys and event IDs hash about
/// thirty keys per event; through `Hasher` each cost four calls and a finalisation (about
/// 340 instructions), inlined here about half that.
@usableFromInline struct SipHash13 {
    /// The process's random key: as with `Hasher`, an attacker who chooses keys (a publisher
    /// picks the dependency IDs it lists) cannot aim them at one bucket.
    @usableFromInline static let processKey = (UInt64.random(in: .min ... .max), UInt64.random(in: .min ... .max))

    @usableFromInline var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64

    @inlinable @inline(__always) init(key k0: UInt64, _ k1: UInt64) {
        v0 = k0 ^ 0x736f_6d65_7073_6575
        v1 = k1 ^ 0x646f_7261_6e64_6f6d
        v2 = k0 ^ 0x6c79_6765_6e65_7261
        v3 = k1 ^ 0x7465_6462_7974_6573
    }

    /// The hash of 32 bytes (four little-endian words) under the process's key mixed with
    /// `seed` (a dictionary's own seed, or 0).
    @inlinable static func hash(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64, seed: UInt64) -> UInt64 {
        hash(w0, w1, w2, w3, key: processKey.0 ^ seed, processKey.1)
    }

    /// The hash of 32 bytes (four little-endian words) under the key (`k0`, `k1`).
    @inlinable @inline(__always)
    static func hash(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64, key k0: UInt64, _ k1: UInt64) -> UInt64 {
        var state = SipHash13(key: k0, k1)
        state.compress(w0)
        state.compress(w1)
        state.compress(w2)
        state.compress(w3)
        state.compress(32 << 56)  // the final block: the length in bytes, no tail
        state.v2 ^= 0xff
        state.round()
        state.round()
        state.round()
        return state.v0 ^ state.v1 ^ state.v2 ^ state.v3
    }

    @inlinable @inline(__always) mutating func compress(_ word: UInt64) {
        v3 ^= word
        round()
        v0 ^= word
    }

    @inlinable @inline(__always) mutating func round() {
        v0 &+= v1; v1 = Self.rotate(v1, 13); v1 ^= v0; v0 = Self.rotate(v0, 32)
        v2 &+= v3; v3 = Self.rotate(v3, 16); v3 ^= v2
        v0 &+= v3; v3 = Self.rotate(v3, 21); v3 ^= v0
        v2 &+= v1; v1 = Self.rotate(v1, 17); v1 ^= v2; v2 = Self.rotate(v2, 32)
    }

    @inlinable @inline(__always) static func rotate(_ word: UInt64, _ count: UInt64) -> UInt64 {
        (word &<< count) | (word &>> (64 &- count))
    }
}
