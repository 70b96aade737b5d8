// swift-tools-version: 6.1
import PackageDescription

/// One set of settings for every target: Swift 6 language mode, explicit `any`, and
/// imports that say exactly what each file uses.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Lamplighter",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "LampProtocol", targets: ["LampProtocol"]),
        .library(name: "LampAuth", targets: ["LampAuth"]),
        .executable(name: "lamplighterd", targets: ["lamplighterd"]),
        .executable(name: "lampctl", targets: ["lampctl"]),
        .executable(name: "lampsim", targets: ["lampsim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // The wire codec. No dependencies, no Foundation: it also compiles as Embedded Swift
        // so lamp firmware links the very same code (scripts/check-embedded.sh).
        .target(name: "LampProtocol", dependencies: [], swiftSettings: swiftSettings),
        // Key derivation, MACs and the handshake checks of SPEC.md §4, on swift-crypto.
        .target(
            name: "LampAuth",
            dependencies: ["LampProtocol", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "lamplighterd",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "lampctl",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "lampsim",
            dependencies: [
                "LampProtocol", "LampAuth",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Simulators/LampSimulator",
            swiftSettings: swiftSettings),
        .testTarget(name: "LampProtocolTests", dependencies: ["LampProtocol"], swiftSettings: swiftSettings),
        .testTarget(name: "LampAuthTests", dependencies: ["LampAuth", "LampProtocol"], swiftSettings: swiftSettings),
        // Starts the real executables as processes: what a user sees.
        .testTarget(
            name: "ExecutableTests", dependencies: ["lamplighterd", "lampctl", "lampsim"], swiftSettings: swiftSettings),
    ]
)
