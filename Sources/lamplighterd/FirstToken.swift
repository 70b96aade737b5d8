import ArgumentParser
import Controller
import FleetCore
import Foundation
import LampAuth
import Logging
import OperatorAPI

/// The first admin token: without one nobody could call the API to make more.
enum FirstToken {
    /// If the store has no token, makes an admin token named `admin` and writes it to `file`
    /// (mode 0600, never overwriting a file); returns the file's path when it did.
    static func ensure(store: any FleetStoring, file: String, logger: Logger) async throws -> String? {
        guard try await store.tokens().isEmpty else { return nil }
        let url = URL(fileURLWithPath: file)
        guard !FileManager.default.fileExists(atPath: url.path) else {
            throw DaemonExit.fail(
                "the database has no API token but \(url.path) exists: remove it (it belongs to another database) or create a token with 'lamplighterd token create'",
                ExitCode.failure)
        }
        let created: TokenCreated
        do {
            created = try await FleetService.issueToken(
                TokenCreate(name: "admin", role: "admin"), store: store, by: Token.commandLine, atMilliseconds: WallClock.nowMilliseconds(),
                logger: logger)
        } catch {
            throw DaemonExit.fail("could not create the first admin token: \(error.message)", ExitCode.failure)
        }
        do {
            try SecretFile.create(url.path, created.token + "\n")
        } catch {
            throw DaemonExit.fail("could not write the first admin token to \(url.path): \(error.reason)", ExitCode.failure)
        }
        return url.path
    }
}
