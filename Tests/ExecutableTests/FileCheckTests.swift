import Foundation
import LampAuth
import Testing

/// Issue 12: key and database files are checked at start, as ssh checks a private key.
@Suite("File checks at start")
struct FileCheckTests {
    @Test("a fleet key file readable by others is refused with the chmod that fixes it; with 0600 the daemon starts")
    func keyFileMode() async throws {
        let daemon = try Daemon(lamps: 0)
        try (FleetKey.generate().hex + "\n").write(toFile: daemon.keyFile, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: daemon.keyFile)
        let refused = try ProductRunner.runWithTimeout(
            "lamplighterd", ["run"] + daemon.storage + ["--lamp-port", "0", "--api-port", "0", "--admin-token-file", daemon.adminTokenFile],
            seconds: 30)
        #expect(refused.status == 78, "\(refused.status) \(refused.stderr)")
        #expect(refused.stderr.contains("chmod 600 \(daemon.keyFile)"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: daemon.directory.appendingPathComponent("lamplighter.db").path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: daemon.keyFile)
        try await daemon.start()
    }
}
