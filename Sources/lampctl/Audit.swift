import ArgumentParser
import Foundation
import OperatorAPI
import OperatorClient

/// `lampctl audit`.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The audit log, newest first: who did what, to which target, when, and how it ended.")

    @OptionGroup var options: ClientOptions
    @Option(help: "Only this token's actions.") var actor: String?
    @Option(help: "Only this action, e.g. command, token.create, group.delete, denied.") var action: String?
    @Option(help: "How many, 1 to 10000.") var limit: Int = 50

    func validate() throws {
        guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000") }
    }

    func run() async throws {
        let client = options.client
        let entries = try await Exit.call { try await client.audit(actor: actor, action: action, limit: limit) }
        if options.json { return try options.printJSON(entries) }
        let time = ISO8601DateFormatter()
        print(
            Table.render(
                [["TIME", "WHO", "ROLE", "ACTION", "TARGET", "DETAIL", "OUTCOME"]]
                    + entries.map { [time.string(from: $0.at), $0.actor, $0.role, $0.action, $0.target, $0.detail, $0.outcome] }))
    }
}
