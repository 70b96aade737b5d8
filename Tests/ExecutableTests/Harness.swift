import Foundation
import OperatorAPI
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `lamplighterd` process on loopback, in its own temporary directory.
final class Daemon: @unchecked Sendable {
    let directory: URL
    var process: Process?
    var lampPort = 0
    var apiPort = 0
    /// The admin token the daemon wrote on its first start.
    var adminToken = ""
    /// More arguments for `lamplighterd run`.
    var runArguments: [String] = []
    /// The `lamplighterd` binary to run: the built one unless a test runs a copy.
    var executable = ProductRunner.productsDirectory.appendingPathComponent("lamplighterd")
    private var output = Pipe()
    private var errors = Pipe()

    init(lamps: Int, prefix: String = "lamp-") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lamplighter-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if lamps > 0 {
            let generated = try ProductRunner.run(
                "lamplighterd", ["lamps", "generate", "--count", "\(lamps)", "--prefix", prefix] + storage)
            guard generated.status == 0 else { throw HarnessError("lamps generate failed: \(generated.stderr)") }
        }
    }

    var storage: [String] {
        ["--db", directory.appendingPathComponent("lamplighter.db").path, "--key-file", directory.appendingPathComponent("lamplighter.key").path]
    }

    var keyFile: String { directory.appendingPathComponent("lamplighter.key").path }
    var adminTokenFile: String { directory.appendingPathComponent("lamplighter.admin-token").path }
    /// The operator API's base, e.g. http://127.0.0.1:40123.
    var server: String { "http://127.0.0.1:\(apiPort)" }
    /// What lampctl needs to reach this daemon as admin.
    var lampctlOptions: [String] { ["--server", server, "--token", adminToken] }
    var lampURL: String { "ws://127.0.0.1:\(lampPort)/lamp/v1" }
    var api: String { "http://127.0.0.1:\(apiPort)/api/v1" }

    /// Starts the daemon (on the ports it had before, after a restart) and waits for "ready".
    func start() throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["run"] + storage + [
            "--lamp-host", "127.0.0.1", "--lamp-port", "\(lampPort)", "--api-port", "\(apiPort)", "--ping-interval", "2",
            "--request-timeout", "2", "--log-level", "warning", "--admin-token-file", adminTokenFile,
        ] + runArguments
        output = Pipe()
        errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        self.process = process
        var text = ""
        let deadline = Date().addingTimeInterval(30)
        while !text.contains("lamplighterd: ready") {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty {
                guard process.isRunning, Date() < deadline else { throw HarnessError("daemon did not start: \(text)") }
                continue
            }
            text += String(decoding: data, as: UTF8.self)
        }
        lampPort = Int(Self.match(text, after: "ws://127.0.0.1:", before: "/")) ?? 0
        apiPort = Int(Self.match(text, after: "http://127.0.0.1:", before: "/")) ?? 0
        adminToken = (try? String(contentsOfFile: adminTokenFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    static func match(_ text: String, after prefix: String, before suffix: String) -> String {
        guard let start = text.range(of: prefix) else { return "" }
        let rest = text[start.upperBound...]
        return String(rest.prefix { String($0) != suffix })
    }

    func kill9() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    func stop() {
        guard let process else { return }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: API

    /// Calls the API as admin, or with `token` (empty: none).
    func request<T: Decodable>(
        _ method: String, _ path: String, body: (some Encodable)? = nil as String?, token: String? = nil
    ) async throws -> (Int, T?) {
        var request = URLRequest(url: URL(string: api + path)!)
        request.httpMethod = method
        let bearer = token ?? adminToken
        if !bearer.isEmpty {
            request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization")
        }
        if let body {
            request.httpBody = try APICoding.encoder().encode(body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, try? APICoding.decoder().decode(T.self, from: data))
    }

    func command(_ command: CommandRequest) async throws -> CommandAccepted {
        let (status, accepted): (Int, CommandAccepted?) = try await request("POST", "/commands", body: command)
        guard status == 202, let accepted else { throw HarnessError("command refused with \(status)") }
        return accepted
    }

    func progress(_ id: Int64) async throws -> CommandProgress {
        let (_, progress): (Int, CommandProgress?) = try await request("GET", "/commands/\(id)")
        guard let progress else { throw HarnessError("no progress for command \(id)") }
        return progress
    }

    func onlineCount() async throws -> Int {
        let (_, page): (Int, LampPage?) = try await request("GET", "/lamps?online=true&limit=1")
        return page?.total ?? -1
    }

    func lamp(_ id: String) async throws -> LampView? {
        let (_, view): (Int, LampView?) = try await request("GET", "/lamps/\(id)")
        return view
    }

    func events(lamp: String) async throws -> [EventView] {
        let (_, events): (Int, [EventView]?) = try await request("GET", "/events?lamp=\(lamp)&limit=100")
        return events ?? []
    }

    /// Waits until `condition` holds, polling every 100 ms, for at most `seconds`.
    func waitUntil(_ what: String, seconds: Double = 30, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("timed out after \(seconds)s waiting until \(what)")
    }
}

/// A real `lampsim` process.
final class Simulator: @unchecked Sendable {
    let process = Process()
    let reportPath: String
    private let output = Pipe()

    init(_ daemon: Daemon, count: Int, duration: Double = 60, extra: [String] = []) throws {
        reportPath = daemon.directory.appendingPathComponent("sim-\(UUID().uuidString).json").path
        process.executableURL = ProductRunner.productsDirectory.appendingPathComponent("lampsim")
        process.arguments = [
            "--url", daemon.lampURL, "--count", "\(count)", "--key-file", daemon.keyFile, "--duration", "\(duration)",
            "--backoff-min", "100", "--backoff-jitter", "300", "--backoff-cap", "2000", "--report", reportPath, "--quiet",
        ] + extra
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    struct Report: Decodable {
        struct Lamp: Decodable {
            let id: String
            let connected: Bool
            let appliedVersion: UInt32
            let appliedHistory: [UInt32]
            let programRevision: UInt32
            /// [lamp clock (Unix s), level per mille] each time it looked at its program.
            let programHistory: [[Int64]]
        }
        let connected: Int
        let handshakes: Int
        let authRefused: Int
        let replayRefused: Int
        let replayAccepted: Int
        let replaced: Int
        let closedMalformed: Int
        let closedTooBig: Int
        let closedPingTimeout: Int
        let reconnects: Int
        let lampDetails: [Lamp]
    }

    /// Stops the simulator (SIGINT) and reads its final report.
    func finish() throws -> Report {
        if process.isRunning {
            kill(process.processIdentifier, SIGINT)
        }
        process.waitUntilExit()
        let data = try Data(contentsOf: URL(fileURLWithPath: reportPath))
        return try JSONDecoder().decode(Report.self, from: data)
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
