import Sodium

/// The layout every signed structure shares: `body ‖ Ed25519 signature (64 bytes)`.
enum SignedBytes {
    /// Splits `bytes` into body and signature after checking the structure's size limit.
    static func split(_ bytes: [UInt8], limit: Int, structure: String) throws(WireError) -> (body: [UInt8], signature: [UInt8]) {
        guard bytes.count <= limit else {
            throw WireError(.limitExceeded, "\(structure) of \(bytes.count) bytes exceeds the limit of \(limit)")
        }
        guard bytes.count > SigningPublicKey.signatureByteCount else { throw WireError(.truncated, "\(structure): too short") }
        let bodyLength = bytes.count - SigningPublicKey.signatureByteCount
        return (Array(bytes[..<bodyLength]), Array(bytes[bodyLength...]))
    }
}
