import Foundation

/// Runs one of the package's executables (built beside the test bundle) and collects its
/// output. Used by the tests that check what a user sees.
struct ProductRunner {
    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The directory holding the built products: the test bundle's own directory.
    static let productsDirectory: URL = {
        var url = Bundle.main.bundleURL
        while url.pathExtension == "xctest" || !FileManager.default.fileExists(atPath: url.appendingPathComponent("lampctl").path) {
            let parent = url.deletingLastPathComponent()
            if parent == url { break }
            url = parent
        }
        return url
    }()

    /// Runs a product that must end by itself within `seconds`; kills it (and reports
    /// status -9) if it does not. Returns as soon as it ends.
    static func runWithTimeout(_ product: String, _ arguments: [String], seconds: Double) throws -> Output {
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent(product)
        process.arguments = arguments
        let out = OutputCollector()
        let err = OutputCollector()
        process.standardOutput = out.pipe
        process.standardError = err.pipe
        let ended = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in ended.signal() }
        try process.run()
        out.start()
        err.start()
        var killed = false
        if ended.wait(timeout: .now() + seconds) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            killed = true
        }
        process.waitUntilExit()
        return Output(status: killed ? -9 : process.terminationStatus, stdout: out.waitForEnd(), stderr: err.waitForEnd())
    }

    static func run(_ product: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Output {
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent(product)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }
}
