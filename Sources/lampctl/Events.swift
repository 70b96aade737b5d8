import ArgumentParser
import Foundation
import OperatorAPI
import OperatorClient

/// `lampctl events`.
struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The event history, newest first.")

    @OptionGroup var options: ClientOptions
    @Option(help: "Only this lamp's events.") var lamp: String?
    @Option(help: "Only events of this kind, e.g. online, offline, fault.raised, command.refused.") var kind: String?
    @Option(help: "How many, 1 to 10000.") var limit: Int = 50

    func validate() throws {
        guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000") }
    }

    func run() async throws {
        let client = options.client
        let events = try await Exit.call { try await client.events(lamp: lamp, kind: kind, limit: limit) }
        if options.json { return try options.printJSON(events) }
        let time = ISO8601DateFormatter()
        print(Table.render([["TIME", "LAMP", "EVENT", "DETAIL"]] + events.map { [time.string(from: $0.at), $0.lamp, $0.kind, $0.detail] }))
    }
}
