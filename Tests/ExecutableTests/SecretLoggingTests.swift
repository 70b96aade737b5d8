import Foundation
import LampAuth
import LampProtocol
import OperatorAPI
import Testing

/// Issue 12: secrets are never logged, at any level.
@Suite("Secrets in logs")
struct SecretLoggingTests {
    @Test("at trace level a handshake, a token's creation and a command log neither the fleet key, a lamp key nor a token")
    func noSecretsLogged() async throws {
        let daemon = try Daemon(lamps: 1)
        daemon.runArguments = ["--log-level", "trace"]
        try await daemon.start()
        let lamp = try RawLamp(port: daemon.lampPort, id: "lamp-0001", keyFile: daemon.keyFile)
        let (_, made): (Int, TokenCreated?) = try await daemon.request("POST", "/tokens", body: TokenCreate(name: "ops", role: "operator"))
        let token = try #require(made?.token)
        let (accepted, _): (Int, CommandAccepted?) = try await daemon.request(
            "POST", "/commands", body: CommandRequest(target: "all", action: "on"), token: token)
        #expect(accepted == 202)
        for _ in 0..<3 { _ = try? lamp.receive() }
        // A wrong token and a wrong hello are logged as refusals, without what was sent.
        let (refused, _): (Int, APIError?) = try await daemon.request("GET", "/lamps", token: APIToken.generate())
        #expect(refused == 401)
        try await Task.sleep(for: .milliseconds(500))
        let fleetKeyHex = try String(contentsOfFile: daemon.keyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let fleetKey = try #require(FleetKey(hex: fleetKeyHex))
        let lampKeyHex = HexBytes.encode(fleetKey.lampKey(for: LampID("lamp-0001")!).bytes)
        let (output, errors) = daemon.printed
        let all = (output + errors).lowercased()
        #expect(all.contains("trace") || all.contains("debug"), "the daemon logged nothing at trace level")
        for (name, secret) in [("fleet key", fleetKeyHex), ("lamp key", lampKeyHex), ("token", token), ("admin token", daemon.adminToken)] {
            #expect(!all.contains(secret.lowercased()), "\(name) in the log")
            #expect(!all.contains(String(secret.lowercased().suffix(32))), "half the \(name) in the log")
        }
    }
}

extension SecretLoggingTests {
    @Test("a PostgreSQL URL's password is never shown: not when the server cannot be reached (exit 1 at once, host and port named), not by 'config'")
    func databasePasswordNotShown() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lamplighter-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let password = PostgresTestDatabase.password
        let run = try ProductRunner.runWithTimeout(
            "lamplighterd",
            [
                "run", "--db", "postgres://ops:\(password)@127.0.0.1:9/fleet", "--api-port", "0", "--lamp-port", "0", "--log-level", "trace",
                "--key-file", directory.appendingPathComponent("k").path, "--admin-token-file", directory.appendingPathComponent("t").path,
            ],
            seconds: 30)
        #expect(run.status == 1, "\(run.stdout) \(run.stderr)")
        #expect(run.stderr.contains("cannot open the PostgreSQL database postgres://ops@127.0.0.1:9/fleet"), "\(run.stderr)")
        #expect(!(run.stdout + run.stderr).contains(password))
        let config = try ProductRunner.run("lamplighterd", ["config"], environment: ["LAMPLIGHTER_DB": "postgresql://ops:\(password)@db.example/fleet"])
        #expect(config.stdout.contains("postgres://ops@db.example:5432/fleet") && !config.stdout.contains(password), "\(config.stdout)")
        let bad = try ProductRunner.run("lamplighterd", ["token", "list", "--database", "postgres://ops:\(password)@db.example/fleet?sslmode=allow"])
        #expect(bad.status == 78 && bad.stderr.contains("sslmode=allow") && !bad.stderr.contains(password), "\(bad.stderr)")
    }
}
