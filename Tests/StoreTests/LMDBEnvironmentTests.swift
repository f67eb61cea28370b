import Platform
@testable import Store
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct LMDBEnvironmentTests {
    /// Keys that do not sort last fall back to an ordinary put: every key is kept, in key order.
    @Test func mostlyAppendingPutsKeepKeysInOrderWhateverOrderTheyCameIn() throws {
        var template = Array("/tmp/polder-lmdb-XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        defer { FileSystem.removeTree(directory) }
        let environment = try LMDBEnvironment(directory: directory, initialMapSize: 64 << 20, maximumMapSize: 64 << 20, databases: ["log"])
        let log = try environment.openDatabase("log")
        func key(_ topic: UInt8, _ position: UInt64) -> [UInt8] { [topic] + withUnsafeBytes(of: position.bigEndian, Array.init) }
        let value = [UInt8](repeating: 7, count: 1200)
        // Two topics interleaved: topic 2 appends, topic 1's keys sort before it and are put as usual.
        try environment.write { transaction throws(StoreError) in
            for position in UInt64(1)...300 {
                try transaction.putMostlyAppending(log, key(2, position), value)
                try transaction.putMostlyAppending(log, key(1, position), value)
            }
            // A key that already exists is replaced.
            try transaction.putMostlyAppending(log, key(2, 300), [1])
        }
        var keys: [[UInt8]] = []
        var last: [UInt8] = []
        try environment.read { transaction throws(StoreError) in
            try transaction.scan(log) { key, value throws(StoreError) in
                keys.append(Array(key))
                last = Array(value)
                return true
            }
        }
        #expect(keys == (UInt64(1)...300).map { key(1, $0) } + (UInt64(1)...300).map { key(2, $0) })
        #expect(last == [1])
        environment.close()
    }
}
