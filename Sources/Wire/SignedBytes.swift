import Sodium

/// The layout every signed structure shares: `body ‖ Ed25519 signature (64 bytes)`.
enum SignedBytes {
    /// Splits `bytes` into body and signature after checking the structure's size limit.
    static func split(_ bytes: [UInt8], limit: Int, structure: String) throws(WireError) -> (body: [UInt8], signature: [UInt8]) {
        let bodyLength = try bodyCount(bytes, limit: limit, structure: structure)
        return (Array(bytes[..<bodyLength]), Array(bytes[bodyLength...]))
    }

    /// The length of the body in `bytes`, after checking the structure's size limit.
    static func bodyCount(_ bytes: [UInt8], limit: Int, structure: String) throws(WireError) -> Int {
        guard bytes.count <= limit else {
            throw WireError(.limitExceeded, "\(structure) of \(bytes.count) bytes exceeds the limit of \(limit)")
        }
        guard bytes.count > SigningPublicKey.signatureByteCount else { throw WireError(.truncated, "\(structure): too short") }
        return bytes.count - SigningPublicKey.signatureByteCount
    }
}
