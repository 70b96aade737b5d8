import Foundation
import OperatorAPI
import Testing

/// A database of its own on the test server (LAMPLIGHTER_TEST_POSTGRES_URL, which
/// scripts/test.sh sets), made with psql and dropped when the test is done.
final class PostgresTestDatabase {
    static let serverURL = ProcessInfo.processInfo.environment["LAMPLIGHTER_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    /// The test password: the test server trusts local connections, so it is sent and never
    /// checked, and it must never be printed.
    static let password = "pg-not-printed-7f3a"

    let name = "lamplighter_e2e_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    let server: URLComponents

    init() throws {
        let text = try #require(Self.serverURL)
        server = try #require(URLComponents(string: text))
        try Self.psql(server, "CREATE DATABASE \(name)")
    }

    deinit { try? Self.psql(server, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }

    /// The database's URL, with the password.
    var url: String {
        var components = server
        components.password = Self.password
        components.path = "/" + name
        return components.string ?? ""
    }

    /// Where psql is: on the PATH, or beside Debian's server.
    static let psqlPath: String = {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        let candidates = ["/usr/bin/psql"] + versions.map { "/usr/lib/postgresql/\($0)/bin/psql" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "psql"
    }()

    /// The output of one query, unaligned and without headers (one value: just it).
    static func query(_ server: URLComponents, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: psqlPath)
        process.arguments = ["--no-psqlrc", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", server.string ?? "", "-c", sql]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HarnessError("psql failed (\(process.terminationStatus)) on: \(sql)") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func psql(_ server: URLComponents, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: psqlPath)
        process.arguments = ["--no-psqlrc", "-q", "-v", "ON_ERROR_STOP=1", server.string ?? "", "-c", sql]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HarnessError("psql failed (\(process.terminationStatus)) on: \(sql)") }
    }
}

/// The daemon on PostgreSQL (issue 14): enabled with a server, and then shown as skipped
/// when there is none; scripts/test.sh always starts one.
@Suite("End to end on PostgreSQL", .serialized, .enabled(if: PostgresTestDatabase.serverURL != nil))
struct PostgresEndToEndTests {
    @Test("on PostgreSQL: imported lamps connect, a fleet command reaches 100 %, a restart keeps the desired state; the password is never printed")
    func fleetOnPostgres() async throws {
        let database = try PostgresTestDatabase()
        let daemon = try Daemon(lamps: 0)
        daemon.databaseURL = database.url
        daemon.runArguments = ["--log-level", "trace"]
        // Lamps imported before the first start: the provisioning command opens (and makes)
        // the schema on the server.
        let csv = daemon.directory.appendingPathComponent("lamps.csv")
        try ("id,groups\n" + (1...50).map { String(format: "lamp-%04d,", $0) + ($0 % 2 == 0 ? "even" : "odd") }.joined(separator: "\n") + "\n")
            .write(to: csv, atomically: true, encoding: .utf8)
        let imported = try ProductRunner.run("lamplighterd", ["lamps", "import", csv.path] + daemon.database)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("registered 50 lamps from \(csv.path) in postgres://"), "\(imported.stdout)")
        try await daemon.start()
        let sim = try Simulator(daemon, count: 50, duration: 90)
        try await waitUntil("50 lamps are online") { try await daemon.onlineCount() == 50 }
        let accepted = try await daemon.command(CommandRequest(target: "all", action: "level", level: 35))
        #expect(accepted.lamps == 50)
        try await waitUntil("every lamp applied the command") { try await daemon.progress(accepted.id).applied == 50 }
        let group = try await daemon.command(CommandRequest(target: "group:even", action: "override", level: 70, durationSeconds: 3600))
        #expect(group.lamps == 25)
        try await waitUntil("the even lamps applied the override") { try await daemon.progress(group.id).applied == 25 }

        daemon.stop()
        try await daemon.start()
        let even = try #require(try await daemon.lamp("lamp-0002"))
        let odd = try #require(try await daemon.lamp("lamp-0003"))
        #expect(even.desired.mode == "override" && even.desired.level == 70)
        #expect(odd.desired.level == 35)
        try await waitUntil("lamps reconnect", timeout: .seconds(40)) { try await daemon.onlineCount() == 50 }
        try await waitUntil("every even lamp converges again", timeout: .seconds(40)) { try await daemon.progress(group.id).applied == 25 }
        _ = try sim.finish()

        let (output, errors) = daemon.printed
        #expect(output.contains("database postgres://") && output.contains("/\(database.name) ("), "\(output)")
        for text in [output, errors, imported.stdout, imported.stderr] {
            #expect(!text.contains(PostgresTestDatabase.password), "the database password was printed")
        }
        let listed = try ProductRunner.run("lamplighterd", ["token", "list"] + daemon.database)
        #expect(listed.status == 0 && listed.stdout.contains("admin") && !listed.stderr.contains(PostgresTestDatabase.password), "\(listed.stderr)")
    }
}
