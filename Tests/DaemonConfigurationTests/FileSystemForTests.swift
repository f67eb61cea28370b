#if canImport(Glibc)
import Glibc
#endif

/// Writes and removes scratch files for the configuration tests.
enum FileSystemForTests {
    static func write(_ text: String, to path: String) {
        let file = fopen(path, "w")!
        fputs(text, file)
        fclose(file)
    }

    static func remove(_ path: String) {
        unlink(path)
    }
}
