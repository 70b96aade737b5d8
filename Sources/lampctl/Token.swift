import ArgumentParser
import Foundation
import OperatorAPI
import OperatorClient

/// `lampctl token ...` (admin).
struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke API tokens (needs an admin token).",
        discussion: """
            Roles: viewer reads everything and watches the stream; operator also sends \
            commands and changes groups, and reads the audit log; admin also registers lamps \
            and manages tokens. A new token is printed once: store it, it cannot be shown again.
            """,
        subcommands: [List.self, Create.self, Revoke.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every token: names and roles, never the secrets.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let client = options.client
            let tokens = try await Exit.call { try await client.tokens() }
            if options.json { return try options.printJSON(tokens) }
            let time = ISO8601DateFormatter()
            print(
                Table.render(
                    [["NAME", "ROLE", "CREATED", "BY"]] + tokens.map { [$0.name, $0.role, time.string(from: $0.createdAt), $0.createdBy] }))
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print it (only this once).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "A unique name, e.g. night-shift.") var name: String
        @Option(help: "viewer, operator or admin.") var role: String = "viewer"

        func validate() throws {
            guard Role(rawValue: role) != nil else { throw ValidationError("--role must be viewer, operator or admin") }
        }

        func run() async throws {
            let client = options.client
            let created = try await Exit.call { try await client.createToken(TokenCreate(name: name, role: role)) }
            if options.json { return try options.printJSON(created) }
            print(created.token)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: its next request is refused.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The token's name.") var name: String

        func run() async throws {
            let client = options.client
            try await Exit.call { try await client.revokeToken(name) }
            if options.json { return try options.printJSON(Deleted(kind: "token", name: name)) }
            print("revoked \(name)")
        }
    }
}
