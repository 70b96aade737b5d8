import ArgumentParser
import Foundation
import OperatorAPI
import OperatorClient

/// `lampctl lamp show ID`.
struct Lamp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one lamp.", subcommands: [Show.self], defaultSubcommand: Show.self)

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One lamp: desired versus reported, and its recent events.")

        @OptionGroup var options: ClientOptions
        @Argument(help: "The lamp id.") var id: String

        func run() async throws {
            let client = options.client
            let lamp = try await Exit.call { try await client.lamp(id) }
            if options.json { return try options.printJSON(lamp) }
            let time = ISO8601DateFormatter()
            var rows = [
                ["lamp", lamp.id + (lamp.name.map { " (\($0))" } ?? "")],
                ["online", lamp.online ? "yes" : "no" + (lamp.lastSeen.map { ", last seen " + time.string(from: $0) } ?? "")],
                ["desired", "\(Table.desired(lamp.desired)), fade \(lamp.desired.fadeSeconds) s, version \(lamp.desired.version)"],
            ]
            if let reported = lamp.reported {
                rows.append(["reported", "\(Table.percent(reported.level)) \(reported.mode), version \(reported.appliedVersion)"
                    + (lamp.converged ? "" : " (behind)")])
                rows.append(["power", String(format: "%.1f W, %d Wh, %.1f h lit", reported.powerWatts, reported.energyWattHours, reported.burnHours)])
                rows.append(["faults", reported.faults.isEmpty ? "none" : reported.faults.joined(separator: ", ")])
                rows.append(["firmware", reported.firmware ?? "-"])
            }
            if let program = lamp.program {
                var text = program + (lamp.programRevision.map { ", revision \($0) held" } ?? "")
                if let expected = lamp.expectedLevel { text += "; asks for \(Table.percent(expected)) now" }
                rows.append(["program", text])
            }
            if !lamp.groups.isEmpty { rows.append(["groups", lamp.groups.joined(separator: ", ")]) }
            print(Table.render(rows))
            // The lamp's view carries its newest events.
            let events = (lamp.recentEvents ?? []).prefix(10)
            if !events.isEmpty {
                print("\nrecent events")
                print(Table.render(events.map { [time.string(from: $0.at), $0.kind, $0.detail] }))
            }
        }
    }
}
