import ArgumentParser
import Controller
import FleetCore
import Foundation
import Logging
import OperatorAPI

/// `lamplighterd token ...`: operator API tokens, on the database directly (so the first
/// admin token can be made before anyone can call the API).
struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke operator API tokens (roles: viewer, operator, admin).",
        discussion: """
            Tokens are stored as SHA-256 only: a new token is printed once and cannot be shown \
            again. A running daemon accepts a token created here at once and refuses one \
            revoked here within a second. These commands work while the daemon runs; they \
            are audited as 'command line'.
            """,
        subcommands: [Create.self, List.self, Revoke.self])

    static let commandLine = Caller(name: "command line", role: .admin)

    /// The existing database (only `run` creates one), named on standard error.
    static func openStore(_ database: DatabaseOptions) async throws -> any FleetStoring {
        try await database.openExisting().store
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print it (only this once).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "A unique name, e.g. night-shift.") var name: String
        @Option(help: "viewer, operator or admin.") var role: String = "viewer"

        func run() async throws {
            let store = try await Token.openStore(database)
            do {
                let created = try await FleetService.issueToken(
                    TokenCreate(name: name, role: role), store: store, by: Token.commandLine, atMilliseconds: WallClock.nowMilliseconds(),
                    logger: Logger(label: "lamplighterd"))
                print(created.token)
            } catch {
                throw ValidationError(error.message)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens: names and roles, never the secrets.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let tokens = try await Token.openStore(database).tokens()
            let width = max(4, tokens.map(\.name.count).max() ?? 0)
            print("NAME".padding(toLength: width, withPad: " ", startingAt: 0) + "  ROLE      CREATED BY")
            for token in tokens {
                print(
                    token.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                        + token.role.padding(toLength: 8, withPad: " ", startingAt: 0) + "  " + token.createdBy)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by name.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The token's name.") var name: String

        func run() async throws {
            let store = try await Token.openStore(database)
            let audit = FleetService.entry(Token.commandLine, "token.revoke", target: name, detail: "", atMilliseconds: WallClock.nowMilliseconds())
            let revoked: Bool
            do {
                revoked = try await store.revokeToken(named: name, audit: audit)
            } catch let error as FleetError {
                throw DaemonExit.fail(error.message, DaemonExit.dataError)
            }
            guard revoked else { throw ValidationError("no token named \(name)") }
            print("revoked \(name)")
        }
    }
}
