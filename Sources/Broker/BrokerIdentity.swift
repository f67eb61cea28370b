import Platform
import Sodium
import Wire

/// The broker's Ed25519 identity, kept in `<data dir>/identity` and created on first start.
public enum BrokerIdentity {
    /// Loads the identity from the data directory, creating directory and identity when missing.
    public static func loadOrCreate(dataDirectory: String) throws(BrokerError) -> SigningKeyPair {
        let path = FileSystem.join(dataDirectory, "identity")
        do {
            try FileSystem.createDirectory(dataDirectory)
            if FileSystem.exists(path) {
                return try IdentityFile.decode(try FileSystem.read(path))
            }
            let identity = SigningKeyPair()
            try FileSystem.writeAtomically(IdentityFile.encode(identity), to: path)
            return identity
        } catch let error as SystemError {
            throw BrokerError("cannot use data directory \(dataDirectory): \(error)")
        } catch {
            throw BrokerError("cannot load the broker identity from \(path): \(error)")
        }
    }
}
