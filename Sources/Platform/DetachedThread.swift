#if canImport(Glibc)
import Glibc
#endif

/// A thread that runs one closure and is never joined: the event loop's, the workers', the
/// benchmark's receiver.
public enum DetachedThread {
    /// Starts `body` on a new thread; `name` says what for in the error.
    public static func start(_ name: String, _ body: @escaping @Sendable () -> Void) throws(SystemError) {
        let box = Unmanaged.passRetained(Body(body))
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { argument in
            Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, box.toOpaque())
        guard status == 0 else {
            box.release()
            throw SystemError("pthread_create", name, code: status)
        }
        pthread_detach(thread)
    }

    private final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}
