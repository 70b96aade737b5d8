// swift-tools-version: 6.1
import PackageDescription

/// One set of settings for every target: Swift 6 language mode, explicit `any`, and
/// imports that say exactly what each file uses.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOHTTP1", package: "swift-nio"),
    .product(name: "NIOWebSocket", package: "swift-nio"),
    // TLS for the lamp link (wss://), the operator API (https://) and their clients.
    .product(name: "NIOSSL", package: "swift-nio-ssl"),
]

let package = Package(
    name: "Lamplighter",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "LampProtocol", targets: ["LampProtocol"]),
        .library(name: "LampAuth", targets: ["LampAuth"]),
        .library(name: "LightingPrograms", targets: ["LightingPrograms"]),
        .executable(name: "lamplighterd", targets: ["lamplighterd"]),
        .executable(name: "lampctl", targets: ["lampctl"]),
        .executable(name: "lampsim", targets: ["lampsim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // RFC 4180 CSV (quoted fields) for lamp imports; no dependencies, no resources.
        .package(url: "https://github.com/yaslab/CSV.swift", exact: "2.5.2"),
        // The WebSocket client (WSClient) of lampctl watch: ws:// and wss:// (TLS through a proxy).
        .package(url: "https://github.com/hummingbird-project/swift-websocket", from: "1.6.2"),
        // lampctl's https:// transport with a CA file (URLSession on Linux cannot take one).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.30.0"),
        // The PostgreSQL backend of the store (issue 14): a pooled client, bound parameters.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // The wire codec. No dependencies, no Foundation: it also compiles as Embedded Swift
        // so lamp firmware links the very same code (scripts/check-embedded.sh).
        .target(name: "LampProtocol", dependencies: [], swiftSettings: swiftSettings),
        // Lighting programs: the solar calculator, POSIX time-zone rules, the evaluator and
        // the program file format. No dependencies, no Foundation; Embedded Swift too, so
        // lamp firmware runs the program with the controller's own code.
        .target(name: "LightingPrograms", dependencies: [], swiftSettings: swiftSettings),
        // Key derivation, MACs and the handshake checks of SPEC.md §4, on swift-crypto.
        .target(
            name: "LampAuth",
            dependencies: ["LampProtocol", "CSHA256", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        // SHA-256's compression on the x86 SHA instructions, for LampAuth's frame tags (a
        // function that reports 0 elsewhere, and LampAuth keeps its Swift compression).
        .target(name: "CSHA256"),
        // LampProtocol on NIO's ByteBuffer: encode into and decode from network buffers.
        .target(
            name: "LampProtocolNIO",
            dependencies: ["LampProtocol", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings),
        // Pure state machines: handshake, a link's requests, desired state, backoff. No I/O.
        .target(name: "FleetCore", dependencies: ["LampProtocol", "LampAuth", "LightingPrograms"], swiftSettings: swiftSettings),
        // Durable state on SQLite (GRDB): lamps, desired and reported state, events, commands.
        .target(
            name: "FleetStore",
            dependencies: [
                "FleetCore", "LampProtocol", "LightingPrograms", .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API for the reported-state batch (bound in place, no argument arrays).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings),
        // Durable state on PostgreSQL (issue 14): the same semantics as FleetStore, for a fleet
        // that outgrows one SQLite file.
        .target(
            name: "PostgresStore",
            dependencies: [
                "FleetCore", "LampProtocol", "LightingPrograms", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings),
        // Codable request, response and event types of the operator API, shared by the
        // daemon, lampctl and the tests.
        .target(name: "OperatorAPI", dependencies: [], swiftSettings: swiftSettings),
        // The lamp import format (CSV with quoting) and numbered ids, shared by lampctl and
        // lamplighterd.
        .target(
            name: "LampCSV", dependencies: ["OperatorAPI", .product(name: "CSV", package: "CSV.swift")], swiftSettings: swiftSettings),
        // What lampctl and lamplighterd do before ArgumentParser: "did you mean" for a
        // mistyped subcommand, negative numbers as values.
        .target(
            name: "CommandLineSupport", dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),
        // A typed client of the operator API, for lampctl and scripts (URLSession: no
        // extra dependency to build).
        .target(
            name: "OperatorClient",
            dependencies: [
                "OperatorAPI", .product(name: "WSClient", package: "swift-websocket"), .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ] + nio,
            swiftSettings: swiftSettings),
        // The C library allocator's own figures (heap in use, free memory held) and its trim:
        // glibc's malloc.h, which Swift's Glibc module leaves out.
        .target(name: "CHeap"),
        // The I/O layer: lamp gateway (NIO WebSocket), operator HTTP API (Hummingbird), fleet
        // service, batched writer; wired together as services.
        .target(
            name: "Controller",
            dependencies: [
                "FleetCore", "FleetStore", "LampAuth", "LampProtocol", "LampProtocolNIO", "OperatorAPI", "LightingPrograms", "CHeap",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // Webhook deliveries (http:// and https:// with the system's trust store).
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ] + nio,
            resources: [.copy("Resources/openapi.json"), .copy("Resources/dashboard")],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "lamplighterd",
            dependencies: [
                "Controller", "FleetStore", "PostgresStore", "FleetCore", "LampAuth", "LampProtocol", "OperatorAPI", "LightingPrograms", "LampCSV",
                "CommandLineSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "lampctl",
            dependencies: [
                "OperatorAPI", "OperatorClient", "LightingPrograms", "LampCSV", "CommandLineSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "lampsim",
            dependencies: [
                "LampProtocol", "LampProtocolNIO", "LampAuth", "FleetCore", "LightingPrograms", "OperatorAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ] + nio,
            path: "Simulators/LampSimulator",
            swiftSettings: swiftSettings),
        // Allocation counts per encode, decode and frame tag (Benchmarks/allocations runs it under
        // a counting malloc). A target of this package, not of a package of its own, so that CI's
        // release build of the daemon and the simulator builds it too: one release build of
        // swift-crypto instead of two (about 4 minutes of CI on 2 cores).
        .executableTarget(
            name: "alloc-bench",
            dependencies: ["LampProtocol", "LampAuth"],
            path: "Benchmarks/Sources/alloc-bench",
            swiftSettings: swiftSettings),
        .testTarget(name: "LampProtocolTests", dependencies: ["LampProtocol"], swiftSettings: swiftSettings),
        .testTarget(name: "LightingProgramsTests", dependencies: ["LightingPrograms"], swiftSettings: swiftSettings),
        .testTarget(name: "LampAuthTests", dependencies: ["LampAuth", "LampProtocol"], swiftSettings: swiftSettings),
        .testTarget(
            name: "FleetCoreTests", dependencies: ["FleetCore", "LampAuth", "LampProtocol", "LightingPrograms"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "FleetStoreTests",
            dependencies: [
                "FleetStore", "PostgresStore", "FleetCore", "LampProtocol", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ControllerTests",
            dependencies: [
                "Controller", "CHeap", "FleetCore", "FleetStore", "LampAuth", "LampProtocol", "LampProtocolNIO", "OperatorAPI",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ] + nio,
            swiftSettings: swiftSettings),
        // Starts the real executables as processes: what a user sees.
        .testTarget(
            name: "ExecutableTests",
            dependencies: [
                "lamplighterd", "lampctl", "lampsim", "OperatorAPI", "OperatorClient", "LampCSV", "CommandLineSupport", "LampProtocol",
                "LampAuth", "FleetCore", .product(name: "NIOEmbedded", package: "swift-nio"),
            ] + nio,
            swiftSettings: swiftSettings),
    ]
)
