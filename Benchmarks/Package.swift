// swift-tools-version: 6.1
import PackageDescription

// Benchmarks of Lamplighter, in their own package so that a normal build or `swift test` of
// Lamplighter never compiles them (fleet-bench itself is a script: Benchmarks/fleet-bench).
let package = Package(
    name: "LamplighterBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Lamplighter", path: "..")],
    targets: [
        .executableTarget(
            name: "alloc-bench",
            dependencies: [.product(name: "LampProtocol", package: "Lamplighter"), .product(name: "LampAuth", package: "Lamplighter")],
            swiftSettings: [.swiftLanguageMode(.v6)])
    ]
)
