import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// A failure of the broker's store, with what was being done and what LMDB or the system said.
public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The memory map is full and may not grow further (`--store-max-size`).
        case mapFull
        /// The file system has no space left.
        case diskFull
        /// Another process holds the store.
        case locked
        /// The files are damaged, from another version, or not an LMDB store.
        case corrupt
        /// An earlier fatal error left the store unusable until the broker restarts.
        case unusable
        /// Any other system or LMDB failure.
        case failed
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// Classifies an LMDB return code from `operation`.
    init(code: Int32, _ operation: String) {
        let text = String(cString: mdb_strerror(code))
        switch code {
        case MDB_MAP_FULL: self.init(.mapFull, "\(operation): the store's map is full (\(text))")
        case ENOSPC, EDQUOT: self.init(.diskFull, "\(operation): no space left on the device holding the store")
        case MDB_CORRUPTED, MDB_INVALID, MDB_VERSION_MISMATCH, MDB_PAGE_NOTFOUND:
            self.init(.corrupt, "\(operation): the store is damaged or from another LMDB version (\(text))")
        case MDB_PANIC: self.init(.unusable, "\(operation): the store hit a fatal error earlier; restart polderd (\(text))")
        default: self.init(.failed, "\(operation): \(text)")
        }
    }

    public var description: String { message }
}
