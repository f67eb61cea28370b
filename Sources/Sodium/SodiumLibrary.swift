import CSodium

/// libsodium's one-time initialisation; every entry point of this module goes through it.
enum SodiumLibrary {
    private static let initialized: Bool = sodium_init() >= 0

    static func ensureInitialized() {
        // sodium_init only fails when the system has no usable randomness source; nothing can run then.
        precondition(initialized, "libsodium could not initialise (no randomness source)")
    }
}
