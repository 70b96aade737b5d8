import Foundation
import LampCSV
import OperatorAPI
import OperatorClient
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How often ``waitUntil(_:timeout:sourceLocation:_:)`` looks at its condition again.
let pollInterval = Duration.milliseconds(50)

/// Waits until `condition` holds, looking again every ``pollInterval``; once `timeout` has
/// passed without it, throws an error naming `what` and the caller's line, which fails the test.
///
/// The one way these tests wait: for something they can observe (an API answer, a line of
/// output, a process's end), never for a fixed time. `timeout` only bounds a failing wait; a
/// passing one returns as soon as the condition holds.
/// `explain`, when given, adds what the test knows that may say why (a process's last lines)
/// to the error.
func waitUntil(
    _ what: String, timeout: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation,
    explain: (() -> String)? = nil, _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while try await !condition() {
        guard clock.now < deadline else {
            let why = explain.map { "\n" + $0() } ?? ""
            throw HarnessError("\(sourceLocation.fileName):\(sourceLocation.line): timed out after \(timeout) waiting until \(what)\(why)")
        }
        try await Task.sleep(for: pollInterval)
    }
}

/// What a child process writes to a pipe, read as it arrives on a thread of its own: a test
/// can wait for a line while the process runs, and the pipe never fills up and blocks it.
final class OutputCollector: @unchecked Sendable {
    /// Give this to the process as its standard output or error.
    let pipe = Pipe()
    private let lock = NSLock()
    private var data = Data()
    private var ended = false
    private let finished = DispatchSemaphore(value: 0)

    /// Starts reading; call it once the process runs (it holds the pipe's writing end then).
    func start() {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                // Blocks until there is output; empty once the process closed its end.
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.withLock { data.append(chunk) }
            }
            lock.withLock { ended = true }
            finished.signal()
        }
    }

    /// Everything so far.
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }

    /// The complete lines so far.
    var lines: [String] {
        let text = self.text
        let complete = text.hasSuffix("\n") ? Substring(text) : text[..<(text.lastIndex(of: "\n") ?? text.startIndex)]
        return complete.split(separator: "\n").map(String.init)
    }

    /// Waits until the process closed its end (it ended), at most `seconds`; the text then.
    func waitForEnd(seconds: Double = 10) -> String {
        if !lock.withLock({ ended }) { _ = finished.wait(timeout: .now() + seconds) }
        return text
    }
}

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
    /// Seconds between the daemon's pings to each lamp; a lamp silent for two is dropped.
    var pingInterval = 2
    /// With TLS (the daemon runs with tls-certificate): the CA the test's requests trust.
    var caFile: String?
    private var output = OutputCollector()
    private var errors = OutputCollector()

    /// Lamps registered on the first start, through the API as an operator would
    /// (`lampctl lamps generate`): only `lamplighterd run` creates the database.
    private var lampsToRegister: [LampRegistration]

    init(lamps: Int, prefix: String = "lamp-") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lamplighter-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        lampsToRegister = LampCSV.numberedIDs(prefix: prefix, start: 1, count: lamps).map { LampRegistration(id: $0, wattage: 40) }
    }

    /// A postgres:// URL to run on instead of the SQLite file in ``directory``.
    var databaseURL: String?

    /// `--db` for the subcommands that work on the database (token, lamps).
    var database: [String] { ["--db", databaseURL ?? directory.appendingPathComponent("lamplighter.db").path] }

    var storage: [String] {
        database + ["--key-file", directory.appendingPathComponent("lamplighter.key").path]
    }

    var keyFile: String { directory.appendingPathComponent("lamplighter.key").path }
    var adminTokenFile: String { directory.appendingPathComponent("lamplighter.admin-token").path }
    /// The operator API's base, e.g. http://127.0.0.1:40123.
    var server: String { "\(caFile == nil ? "http" : "https")://127.0.0.1:\(apiPort)" }
    /// What lampctl needs to reach this daemon as admin (with TLS, the CA file too).
    var lampctlOptions: [String] { ["--server", server, "--token", adminToken] + (caFile.map { ["--ca-file", $0] } ?? []) }
    var lampURL: String { "\(caFile == nil ? "ws" : "wss")://127.0.0.1:\(lampPort)/lamp/v1" }
    var api: String { server + "/api/v1" }

    /// Starts the daemon (on the ports it had before, after a restart) and waits until it
    /// says "ready".
    func start() async throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["run"] + storage + [
            "--lamp-host", "127.0.0.1", "--lamp-port", "\(lampPort)", "--api-port", "\(apiPort)", "--ping-interval", "\(pingInterval)",
            "--request-timeout", "2", "--log-level", "warning", "--admin-token-file", adminTokenFile,
            // Every test lamp comes from 127.0.0.1: no backoff for failed handshakes unless a
            // test asks for one (its runArguments come later and win).
            "--handshake-failures", "0",
        ] + runArguments
        let output = OutputCollector()
        let errors = OutputCollector()
        self.output = output
        self.errors = errors
        process.standardOutput = output.pipe
        process.standardError = errors.pipe
        try process.run()
        output.start()
        errors.start()
        self.process = process
        try await waitUntil("lamplighterd says it is ready") {
            if output.text.contains("lamplighterd: ready") { return true }
            guard process.isRunning else {
                throw HarnessError("lamplighterd ended (\(process.terminationStatus)) before it was ready: \(output.text) \(errors.text)")
            }
            return false
        }
        let text = output.text
        lampPort = Int(Self.match(text, after: "ws://127.0.0.1:", before: "/")) ?? Int(Self.match(text, after: "wss://127.0.0.1:", before: "/")) ?? 0
        apiPort = Int(Self.match(text, after: "http://127.0.0.1:", before: "/")) ?? Int(Self.match(text, after: "https://127.0.0.1:", before: "/")) ?? 0
        adminToken = (try? String(contentsOfFile: adminTokenFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if !lampsToRegister.isEmpty {
            let (status, _): (Int, [LampView]?) = try await request("POST", "/lamps", body: lampsToRegister)
            guard status == 201 else { throw HarnessError("registering \(lampsToRegister.count) lamps failed with \(status)") }
            lampsToRegister = []
        }
    }

    /// What the daemon printed on standard output and standard error so far.
    var printed: (output: String, errors: String) { (output.text, errors.text) }

    /// Sends the daemon a signal (e.g. SIGHUP).
    func signal(_ number: Int32) {
        guard let process else { return }
        kill(process.processIdentifier, number)
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

    /// Stops the daemon as an operator would (SIGTERM) and waits until it has exited.
    func stop() {
        guard let process else { return }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
    }

    /// Teardown: nothing is checked after a test, so the daemon is killed rather than stopped
    /// gracefully, which takes it over a second (the tests of its graceful stop call ``stop()``).
    deinit {
        kill9()
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: API

    /// Calls the API as admin, or with `token` (empty: none).
    func request<T: Decodable>(
        _ method: String, _ path: String, body: (some Encodable)? = nil as String?, token: String? = nil
    ) async throws -> (Int, T?) {
        let bearer = token ?? adminToken
        if let caFile, let server = URL(string: server) {
            // https:// with the test's CA: lampctl's own transport.
            let client = OperatorClient(server: server, token: bearer.isEmpty ? nil : bearer, caFile: caFile)
            let (status, data) = try await client.raw(method, "/api/v1" + path, body: try body.map { try APICoding.encoder().encode($0) })
            return (status, try? APICoding.decoder().decode(T.self, from: data))
        }
        guard let url = URL(string: api + path) else { throw HarnessError("not a URL: \(api + path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
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

    /// The lamps matching `query` (e.g. `limit=200&online=true`), or none if the call fails.
    func lamps(_ query: String) async throws -> [LampView] {
        let (_, page): (Int, LampPage?) = try await request("GET", "/lamps?\(query)")
        return page?.lamps ?? []
    }

    func events(lamp: String) async throws -> [EventView] {
        let (_, events): (Int, [EventView]?) = try await request("GET", "/events?lamp=\(lamp)&limit=100")
        return events ?? []
    }

    /// `GET /stats`: the gateway's counters.
    func stats() async throws -> StatsView {
        let (_, stats): (Int, StatsView?) = try await request("GET", "/stats")
        guard let stats else { throw HarnessError("no stats") }
        return stats
    }
}

/// A real `lampsim` process.
final class Simulator: @unchecked Sendable {
    let process = Process()
    let reportPath: String
    private let output = OutputCollector()

    /// Starts `count` lamps against `daemon`. `duration` only bounds a simulator a test never
    /// finishes; without `quiet` it prints a summary line every second. `--url` in `extra`
    /// replaces `url` (the option adds controllers when repeated).
    init(_ daemon: Daemon, count: Int, duration: Double = 60, quiet: Bool = true, url: String? = nil, extra: [String] = []) throws {
        reportPath = daemon.directory.appendingPathComponent("sim-\(UUID().uuidString).json").path
        process.executableURL = ProductRunner.productsDirectory.appendingPathComponent("lampsim")
        process.arguments =
            (extra.contains("--url") ? [] : ["--url", url ?? daemon.lampURL])
            + [
                "--count", "\(count)", "--key-file", daemon.keyFile, "--duration", "\(duration)",
                "--backoff-min", "100", "--backoff-jitter", "300", "--backoff-cap", "2000", "--report", reportPath,
            ] + (daemon.caFile.map { ["--ca-file", $0] } ?? []) + (quiet ? ["--quiet"] : []) + extra
        process.standardOutput = output.pipe
        process.standardError = output.pipe
        try process.run()
        output.start()
    }

    /// Every connected lamp sends its `--burst` of status reports (SIGUSR1).
    func burst() {
        kill(process.processIdentifier, SIGUSR1)
    }

    /// The lamps' clocks skip idle time (SIGUSR2): to just before the next program switch
    /// point or override end of any lamp; connected lamps report at once.
    func skipIdleTime() {
        kill(process.processIdentifier, SIGUSR2)
    }

    /// For a failing test's message: the simulator's last lines other than its once-a-second
    /// summary (skips, signals, errors), then its last few summaries.
    func lastLines(_ count: Int = 10) -> String {
        let lines = output.lines
        let summaries = lines.filter { $0.hasPrefix(" ") }
        let others = lines.filter { !$0.hasPrefix(" ") }
        return "lampsim printed:\n" + (others.suffix(count) + summaries.suffix(5)).joined(separator: "\n")
    }

    /// The lamps' simulated clock as the last summary line gave it (not `quiet`), if any.
    var lampClock: Date? {
        guard let line = output.lines.last(where: { $0.contains(" clock ") }),
            let text = line.components(separatedBy: " clock ").last
        else { return nil }
        return try? Date(text.trimmingCharacters(in: .whitespaces), strategy: .iso8601)
    }

    struct Report: Decodable {
        struct Lamp: Decodable {
            let id: String
            let connected: Bool
            let appliedVersion: UInt32
            let appliedHistory: [UInt32]
            /// The lamp's light when the report was written, per mille.
            let level: UInt16
            let programRevision: UInt32
            /// [lamp clock (Unix s), level per mille] each time it looked at its program.
            let programHistory: [[Int64]]
            /// Its energy counter when the report was written, and in its first status report, Wh.
            let energyWattHours: UInt32
            let firstReportedEnergyWattHours: UInt32?
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
        /// The controller closed with 4006 (SPEC.md §4.3); the lamps closed with 4006 themselves.
        let closedFrameAuthentication: Int
        let frameAuthenticationFailed: Int
        let reconnects: Int
        let connectFailures: Int
        let handshakeTimeouts: Int
        /// Lamps that tried another controller than their previous one.
        let moves: Int
        /// What each controller saw, in the order lampsim first used them.
        struct Controller: Decodable {
            let controller: String
            let linked: Int
            let movedIn: Int
            let movedAway: Int
            let connectFailures: Int
            let handshakeTimeouts: Int
        }
        let controllers: [Controller]
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
