import CLMDB
import Platform
#if canImport(Glibc)
import Glibc
#endif

/// A named LMDB database inside an environment.
public struct LMDBDatabase: Sendable {
    let handle: MDB_dbi
}

/// An LMDB environment: a memory-mapped file pair with named databases, written by one thread at a
/// time and read from any thread. The map grows on demand up to `maximumMapSize`; growing waits
/// for readers to leave, so reads hold a shared lock for their (short) duration.
public final class LMDBEnvironment: @unchecked Sendable {
    private let environment: OpaquePointer
    private var isClosed = false  // guarded by `resizeLock`
    private let resizeLock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    private let lockFile: Int32
    public let directory: String
    /// Bytes the map may grow to; beyond it writes fail with `StoreError.Kind.mapFull`.
    public let maximumMapSize: Int
    private let mapSizeLock = PthreadMutex()
    private var currentMapSize: Int

    /// Opens (creating if needed) the environment in `directory`, taking an exclusive lock so that
    /// no second broker writes the same store.
    public init(directory: String, initialMapSize: Int, maximumMapSize: Int, databases: [String]) throws(StoreError) {
        do { try FileSystem.createDirectory(directory) } catch { throw StoreError(.failed, "\(error)") }
        let lockPath = FileSystem.join(directory, "polderd.lock")
        let lockFile = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFile >= 0 else { throw StoreError(.failed, "\(SystemError("cannot open", lockPath))") }
        guard flock(lockFile, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            Glibc.close(lockFile)
            if code == EWOULDBLOCK { throw StoreError(.locked, "another polderd is using the store in \(directory)") }
            throw StoreError(.failed, "\(SystemError("cannot lock", lockPath, code: code))")
        }
        var created: OpaquePointer?
        var status = mdb_env_create(&created)
        guard status == 0, let environment = created else {
            Glibc.close(lockFile)
            throw StoreError(code: status, "cannot create the store environment")
        }
        // Start at the file's own size when it is larger (a map grown by an earlier run).
        var info = stat()
        let existing = stat(FileSystem.join(directory, "data.mdb"), &info) == 0 ? Int(info.st_size) : 0
        var mapSize = max(min(initialMapSize, maximumMapSize), existing)
        status = mdb_env_set_maxdbs(environment, MDB_dbi(databases.count + 1))
        if status == 0 { status = mdb_env_set_mapsize(environment, mapSize) }
        if status == 0 { status = mdb_env_open(environment, directory, UInt32(MDB_NOTLS), 0o600) }
        guard status == 0 else {
            mdb_env_close(environment)
            Glibc.close(lockFile)
            throw StoreError(code: status, "cannot open the store in \(directory)")
        }
        var environmentInfo = MDB_envinfo()
        mdb_env_info(environment, &environmentInfo)
        mapSize = max(mapSize, environmentInfo.me_mapsize)
        self.directory = directory
        self.maximumMapSize = maximumMapSize
        self.lockFile = lockFile
        self.environment = environment
        currentMapSize = mapSize
        pthread_rwlock_init(resizeLock, nil)
    }

    deinit {
        close()
        pthread_rwlock_destroy(resizeLock)
        resizeLock.deallocate()
    }

    /// Closes the files and releases the lock; later transactions fail. Call once no write is
    /// running (reads wait).
    public func close() {
        pthread_rwlock_wrlock(resizeLock)
        defer { pthread_rwlock_unlock(resizeLock) }
        guard !isClosed else { return }
        isClosed = true
        mdb_env_close(environment)
        Glibc.close(lockFile)
    }

    private var closedError: StoreError { StoreError(.unusable, "the store in \(directory) is closed") }

    /// Bytes currently mapped.
    public var mapSize: Int { mapSizeLock.withLock { currentMapSize } }

    /// Opens (creating) a named database; call before concurrent use.
    public func openDatabase(_ name: String) throws(StoreError) -> LMDBDatabase {
        try write { transaction throws(StoreError) in
            var handle = MDB_dbi()
            let status = mdb_dbi_open(transaction.pointer, name, UInt32(MDB_CREATE), &handle)
            guard status == 0 else { throw StoreError(code: status, "cannot open database \(name)") }
            return LMDBDatabase(handle: handle)
        }
    }

    /// Runs `body` in a read-only transaction (a consistent snapshot).
    public func read<R>(_ body: (LMDBTransaction) throws(StoreError) -> R) throws(StoreError) -> R {
        pthread_rwlock_rdlock(resizeLock)
        defer { pthread_rwlock_unlock(resizeLock) }
        guard !isClosed else { throw closedError }
        var transaction: OpaquePointer?
        let status = mdb_txn_begin(environment, nil, UInt32(MDB_RDONLY), &transaction)
        guard status == 0, let transaction else { throw StoreError(code: status, "cannot begin a read transaction") }
        defer { mdb_txn_abort(transaction) }
        return try body(LMDBTransaction(pointer: transaction))
    }

    /// Runs `body` in a write transaction and commits it durably (fsync) if `body` returns; aborts
    /// it if `body` throws. Only one thread may write at a time.
    public func write<R>(_ body: (LMDBTransaction) throws(StoreError) -> R) throws(StoreError) -> R {
        pthread_rwlock_rdlock(resizeLock)
        defer { pthread_rwlock_unlock(resizeLock) }
        guard !isClosed else { throw closedError }
        var transaction: OpaquePointer?
        var status = mdb_txn_begin(environment, nil, 0, &transaction)
        guard status == 0, let transaction else { throw StoreError(code: status, "cannot begin a write transaction") }
        let result: R
        do {
            result = try body(LMDBTransaction(pointer: transaction))
        } catch {
            mdb_txn_abort(transaction)
            throw error
        }
        status = mdb_txn_commit(transaction)
        guard status == 0 else {
            // LMDB reports a short write (a disk that filled up mid-write) as EIO.
            if status == EIO, availableDiskSpace < 8 << 20 { throw StoreError(code: ENOSPC, "cannot commit to the store") }
            throw StoreError(code: status, "cannot commit to the store")
        }
        return result
    }

    /// Bytes an unprivileged process may still write on the store's file system.
    public var availableDiskSpace: Int {
        var info = statvfs()
        guard statvfs(directory, &info) == 0 else { return .max }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    /// Doubles the map, within `maximumMapSize`; returns false when it is already at the maximum.
    /// Call from the writing thread, outside any transaction.
    public func grow() throws(StoreError) -> Bool {
        let current = mapSize
        guard current < maximumMapSize else { return false }
        let target = min(maximumMapSize, current * 2)
        pthread_rwlock_wrlock(resizeLock)
        let status = isClosed ? EINVAL : mdb_env_set_mapsize(environment, target)
        pthread_rwlock_unlock(resizeLock)
        guard status == 0 else { throw StoreError(code: status, "cannot grow the store's map to \(target) bytes") }
        mapSizeLock.withLock { currentMapSize = target }
        return true
    }

}

/// One LMDB transaction; valid only inside the `read` or `write` closure that received it.
public struct LMDBTransaction {
    let pointer: OpaquePointer

    /// The value stored under `key`, copied out, or nil.
    public func get(_ database: LMDBDatabase, _ key: some StoreRecord) throws(StoreError) -> [UInt8]? {
        var value = MDB_val()
        let status = Self.withKey(key) { mdb_get(pointer, database.handle, &$0, &value) }
        if status == MDB_NOTFOUND { return nil }
        guard status == 0 else { throw StoreError(code: status, "cannot read the store") }
        return Self.bytes(value)
    }

    public func put(_ database: LMDBDatabase, _ key: some StoreRecord, _ value: some StoreRecord) throws(StoreError) {
        let status = rawPut(database, key, value, flags: 0)
        guard status == 0 else { throw StoreError(code: status, "cannot write to the store") }
    }

    /// `put` for a key that usually sorts after every key in `database` (a log's next position):
    /// then the full page is not split in half but left full, and the new key starts a fresh one,
    /// so an append-mostly table has full pages and writes about half as many. Other keys are put
    /// as usual.
    public func putMostlyAppending(_ database: LMDBDatabase, _ key: some StoreRecord, _ value: some StoreRecord) throws(StoreError) {
        var status = rawPut(database, key, value, flags: UInt32(MDB_APPEND))
        if status == MDB_KEYEXIST { status = rawPut(database, key, value, flags: 0) }
        guard status == 0 else { throw StoreError(code: status, "cannot write to the store") }
    }

    /// Reserves the value's space in the page (no database here is `MDB_DUPSORT`, which forbids
    /// it) and encodes the value there.
    private func rawPut(_ database: LMDBDatabase, _ key: some StoreRecord, _ value: some StoreRecord, flags: UInt32) -> Int32 {
        Self.withKey(key) { keyValue in
            var dataValue = MDB_val(mv_size: value.byteCount, mv_data: nil)
            let status = mdb_put(pointer, database.handle, &keyValue, &dataValue, flags | UInt32(MDB_RESERVE))
            if status == 0 { value.write(to: UnsafeMutableRawBufferPointer(start: dataValue.mv_data, count: dataValue.mv_size)) }
            return status
        }
    }

    /// Encodes `key` into a stack buffer for the length of `body`.
    private static func withKey<R>(_ key: some StoreRecord, _ body: (inout MDB_val) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: key.byteCount, alignment: 8) { buffer in
            key.write(to: buffer)
            var keyValue = MDB_val(mv_size: buffer.count, mv_data: buffer.baseAddress)
            return body(&keyValue)
        }
    }

    /// Deletes a database and everything in it from the environment.
    public func drop(_ database: LMDBDatabase) throws(StoreError) {
        let status = mdb_drop(pointer, database.handle, 1)
        guard status == 0 else { throw StoreError(code: status, "cannot delete a database from the store") }
    }

    /// Removes `key`; returns whether it was there.
    @discardableResult
    public func delete(_ database: LMDBDatabase, _ key: some StoreRecord) throws(StoreError) -> Bool {
        let status = Self.withKey(key) { mdb_del(pointer, database.handle, &$0, nil) }
        if status == MDB_NOTFOUND { return false }
        guard status == 0 else { throw StoreError(code: status, "cannot delete from the store") }
        return true
    }

    /// Visits every entry in key order while `visit` returns true. The buffers are valid only
    /// during the call.
    public func scan(_ database: LMDBDatabase,
                     _ visit: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(StoreError) -> Bool) throws(StoreError) {
        try scan(database, start: nil as [UInt8]?, visit)
    }

    /// Visits entries in key order from the first key ≥ `start`, while `visit` returns true.
    public func scan(_ database: LMDBDatabase, from start: some StoreRecord,
                     _ visit: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(StoreError) -> Bool) throws(StoreError) {
        try scan(database, start: start, visit)
    }

    private func scan(_ database: LMDBDatabase, start: (some StoreRecord)?,
                      _ visit: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(StoreError) -> Bool) throws(StoreError) {
        var cursor: OpaquePointer?
        var status = mdb_cursor_open(pointer, database.handle, &cursor)
        guard status == 0, let cursor else { throw StoreError(code: status, "cannot open a store cursor") }
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var value = MDB_val()
        if let start {
            // LMDB points `key` at the found key in its page, so the stack buffer may go.
            status = Self.withKey(start) { startKey in
                key = startKey
                return mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
            }
        } else {
            status = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
        }
        while status == 0 {
            let keyBuffer = UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size)
            let valueBuffer = UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
            guard try visit(keyBuffer, valueBuffer) else { return }
            status = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
        }
        guard status == MDB_NOTFOUND else { throw StoreError(code: status, "cannot iterate the store") }
    }

    private static func bytes(_ value: MDB_val) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
    }
}
