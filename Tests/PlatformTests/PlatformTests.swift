import Platform
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct FileSystemTests {
    let directory: String = {
        var template = Array("/tmp/polder-platform-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }()

    @Test func writesAtomicallyWithModeAndReadsBack() throws {
        let path = FileSystem.join(directory, "a/b/file")
        try FileSystem.createDirectory(FileSystem.directoryName(path))
        try FileSystem.writeAtomically(Array("one".utf8), to: path)
        try FileSystem.writeAtomically(Array("two".utf8), to: path)
        #expect(try FileSystem.readText(path) == "two")
        var info = stat()
        stat(path, &info)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func reportsMissingFilesWithThePath() {
        #expect(throws: SystemError.self) { try FileSystem.read(FileSystem.join(directory, "missing")) }
        do {
            _ = try FileSystem.read("/nonexistent/polder")
        } catch {
            #expect(error.description.contains("/nonexistent/polder"))
            #expect(error.description.contains("No such file"))
        }
    }

    @Test func directoryNames() {
        #expect(FileSystem.directoryName("/a/b/c") == "/a/b")
        #expect(FileSystem.directoryName("c") == ".")
        #expect(FileSystem.directoryName("/c") == "/")
        #expect(FileSystem.join("a/", "b") == "a/b")
    }
}

@Suite struct EnvironmentTests {
    @Test func clocksAdvance() {
        let a = Environment.monotonicNanoseconds()
        let b = Environment.monotonicNanoseconds()
        #expect(b >= a)
        #expect(Environment.wallClockMilliseconds() > 1_700_000_000_000)
        #expect(Environment.value("POLDER_SURELY_UNSET_VARIABLE") == nil)
    }

    /// The affinity mask in a status text: every group of 32 bits counts, the list form does not.
    @Test func cpuCountReadsTheWholeAffinityMask() {
        #expect(Environment.cpuCount(allowedIn: "Name:\tpolderd\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n") == 2)
        #expect(Environment.cpuCount(allowedIn: "Cpus_allowed:\tffffffff,00000001\n") == 33)
        #expect(Environment.cpuCount(allowedIn: "Cpus_allowed:\t00000000,00000004") == 1)
        #expect(Environment.cpuCount(allowedIn: "Cpus_allowed:\t0\n") == nil)
        #expect(Environment.cpuCount(allowedIn: "Cpus_allowed_list:\t0-3\n") == nil)
        #expect(Environment.cpuCount(allowedIn: "") == nil)
    }

    /// This process's own count: between one and the CPUs online (a broker pinned to one CPU is
    /// tested in the integration tests, as a process under `taskset`).
    @Test func usableCPUsAreWithinTheOnlineOnes() {
        #expect(Environment.usableCPUs >= 1 && Environment.usableCPUs <= sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }
}

@Suite struct ThreadingTests {
    @Test func workerPoolRunsEveryJobAndStops() throws {
        let pool = try WorkerPool(threads: 2)
        let lock = PthreadMutex()
        nonisolated(unsafe) var done = 0
        let finished = Semaphore()
        for _ in 0..<1000 {
            pool.submit {
                let count = lock.withLock { done += 1; return done }
                if count == 1000 { finished.signal() }
            }
        }
        #expect(finished.wait(seconds: 10))
        #expect(lock.withLock { done } == 1000)
        pool.shutdown()
    }

    @Test func workerThreadsTakeTheirNicenessAndLeaveTheCallersAlone() throws {
        let pool = try WorkerPool(threads: 1, niceness: 10)
        let before = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        nonisolated(unsafe) var seen: Int32 = -100
        let finished = Semaphore()
        pool.submit {
            seen = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
            finished.signal()
        }
        #expect(finished.wait(seconds: 10))
        #expect(seen >= 10, "nice \(seen) in the worker, \(before) in the caller")
        #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) == before)
        pool.shutdown()
    }
}

@Suite struct ArrayQueueTests {
    @Test func keepsOrderAndOffsetsAcrossCompactions() {
        var queue = ArrayQueue<Int>()
        #expect(queue.removeFirst() == nil && queue.first == nil)
        for value in 0..<1000 { queue.append(value) }
        for expected in 0..<700 { #expect(queue.removeFirst() == expected) }
        #expect(queue.count == 300 && queue.first == 700 && queue.last == 999)
        #expect(queue[5] == 705)
        queue[5] = -1
        #expect(Array(queue.suffix(fromOffset: 4).prefix(3)) == [704, -1, 706])
        #expect(queue.suffix(fromOffset: 400).isEmpty)
        while queue.removeFirst() != nil {}
        #expect(queue.isEmpty)
        queue.append(7)
        #expect(queue.first == 7 && queue.count == 1)
    }
}
