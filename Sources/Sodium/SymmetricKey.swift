/// A 256-bit secret key for the AEAD ciphers.
public struct SymmetricKey: Sendable {
    public static let byteCount = 32
    public let secret: SecureBytes

    /// A fresh random key.
    public init() {
        secret = SecureBytes(randomCount: Self.byteCount)
    }

    /// A key from its 32 bytes; `placement` says whether it is long-lived or per connection.
    public init(_ bytes: [UInt8], placement: SecureBytes.Placement = .guarded) throws(SodiumError) {
        try SodiumError.checkLength(bytes, Self.byteCount, "a symmetric key")
        secret = SecureBytes(bytes, placement: placement)
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        secret.withUnsafeBytes(body)
    }
}
