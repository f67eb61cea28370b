// swift-tools-version:6.0
import PackageDescription

/// Polder's modules, bottom up: C shims → primitives → protocol (pure) → broker wiring → executables.
let package = Package(
    name: "Polder",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "polderd", targets: ["polderd"]),
        .executable(name: "polder", targets: ["polder"]),
        .executable(name: "polder-bench", targets: ["polder-bench"]),
        .executable(name: "polder-sim", targets: ["polder-sim"]),
        .library(name: "PolderClient", targets: ["PolderClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // The configuration file: TOML 1.0 through toml++ (a C++ parser), about 15 s of a clean build.
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        // polder-bench's latency percentiles.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // C libraries from Debian, seen through module maps and shim headers.
        .systemLibrary(name: "CLibevent", pkgConfig: "libevent", providers: [.apt(["libevent-dev"])]),
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CMalloc"),

        // Primitives.
        .target(name: "Platform", dependencies: ["CMalloc"]),
        .target(name: "Sodium", dependencies: ["CSodium"]),
        .target(name: "EventLoop", dependencies: ["CLibevent", "Platform"]),

        // Protocol: pure, no I/O, deterministic.
        .target(name: "Wire", dependencies: ["Platform", "Sodium"]),

        // Overlay state machines: pure, deterministic (clock and randomness injected).
        .target(name: "Overlay", dependencies: ["Wire"]),

        // Durable state on LMDB.
        .target(name: "Store", dependencies: ["CLMDB", "Platform", "Wire", "Sodium"]),

        // Wiring protocol to I/O. Release builds drop the run-time exclusivity checks (overlapping
        // accesses to a class's stored property on one thread) in this module: its objects live
        // on the loop thread, the checks were 6.6 % of the broker's instructions per event
        // (callgrind: 43 checks per event), and debug builds, which the tests run, keep them.
        .target(name: "Broker", dependencies: [
            "Wire", "Overlay", "Store", "EventLoop", "Platform", "Sodium",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        .target(name: "PolderClient", dependencies: ["Wire", "Overlay", "EventLoop", "Platform", "Sodium"]),

        // The daemon's settings: configuration file, command line, what a reload may change.
        .target(name: "DaemonConfiguration", dependencies: [
            "Broker", "Platform", "Wire",
            .product(name: "TOMLKit", package: "TOMLKit"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Executables.
        .executableTarget(name: "polderd", dependencies: [
            "Broker", "DaemonConfiguration", "EventLoop", "Platform", "Wire",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "polder", dependencies: [
            "PolderClient", "Platform",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "polder-sim", dependencies: [
            "Overlay", "Wire", "Sodium", "Platform",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "polder-bench", dependencies: [
            "PolderClient", "Store", "Wire", "Platform", "Sodium",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),

        // Tests: one target per module, plus real-process integration tests.
        .target(name: "TestSupport", dependencies: ["Broker", "PolderClient", "Wire", "EventLoop", "Sodium", "Platform",
                                                    .product(name: "Logging", package: "swift-log")], path: "Tests/TestSupport"),
        .testTarget(name: "SodiumTests", dependencies: ["Sodium"]),
        .testTarget(name: "PlatformTests", dependencies: ["Platform"]),
        .testTarget(name: "EventLoopTests", dependencies: ["EventLoop", "Platform"]),
        .testTarget(name: "WireTests", dependencies: ["Wire", "Sodium"]),
        .testTarget(name: "OverlayTests", dependencies: ["Overlay", "Wire", "Sodium"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Wire", "Sodium", "Platform"]),
        .testTarget(name: "BrokerTests", dependencies: ["Broker", "PolderClient", "Wire", "TestSupport"]),
        .testTarget(name: "DaemonConfigurationTests", dependencies: ["DaemonConfiguration", "Broker"]),
        .testTarget(name: "PolderClientTests", dependencies: ["PolderClient", "Wire", "Sodium", "Platform"]),
        .testTarget(name: "IntegrationTests", dependencies: ["PolderClient", "Wire", "Sodium", "Platform", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
