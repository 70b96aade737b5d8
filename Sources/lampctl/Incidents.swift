import ArgumentParser
import Foundation
import OperatorAPI
import OperatorClient

/// `lampctl incidents [list|show|ack|resolve]`.
struct Incidents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Incidents: faults the controller found (a failed lamp, lit by day, power off its rating, cycling, dark at night, a cabinet's power lost).",
        discussion: """
            An incident opens when a fault has held for a while, and is resolved when the fault \
            stops ('cleared by the lamp') or by an operator. Thresholds are lamplighterd's \
            fault-* and cabinet-dark-share settings.
            """,
        subcommands: [List.self, Show.self, Acknowledge.self, Resolve.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List incidents, newest first.")
        @OptionGroup var options: ClientOptions
        @Option(help: "Only these: open, acknowledged or resolved.") var state: String?
        @Option(help: "Only this kind, e.g. lamp-failure, cabinet-power-lost.") var kind: String?
        @Option(help: "Only this lamp's.") var lamp: String?
        @Option(help: "Only this cabinet's.") var cabinet: String?
        @Option(help: "How many, 1 to 10000.") var limit: Int = 50

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000") }
        }

        func run() async throws {
            let client = options.client
            let incidents = try await Exit.call {
                try await client.incidents(state: state, kind: kind, lamp: lamp, cabinet: cabinet, limit: limit)
            }
            if options.json { return try options.printJSON(incidents) }
            let time = ISO8601DateFormatter()
            print(
                Table.render(
                    [["ID", "KIND", "SUBJECT", "STATE", "OPENED", "BY", "DETAIL"]]
                        + incidents.map {
                            [
                                "\($0.id)", $0.kind, $0.lamp.map { "lamp:\($0)" } ?? "cabinet:\($0.cabinet ?? "-")", $0.state,
                                time.string(from: $0.openedAt), $0.resolvedBy ?? $0.acknowledgedBy ?? "-", $0.detail,
                            ]
                        }))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One incident in full.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The incident's id.") var id: String

        func run() async throws {
            let client = options.client
            let incident = try await Exit.call { try await client.incident(id) }
            try Incidents.show(incident, options: options)
        }
    }

    struct Acknowledge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ack", abstract: "Acknowledge an incident: someone is on it (operator).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The incident's id.") var id: String

        func run() async throws { try await Incidents.settle(id, resolve: false, options: options) }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resolve an incident by hand (operator).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The incident's id.") var id: String

        func run() async throws { try await Incidents.settle(id, resolve: true, options: options) }
    }

    /// Acknowledges or resolves an incident and shows it as it now is.
    static func settle(_ id: String, resolve: Bool, options: ClientOptions) async throws {
        let client = options.client
        let incident = try await Exit.call { try await client.settleIncident(id, resolve: resolve) }
        try show(incident, options: options)
    }

    static func show(_ incident: IncidentView, options: ClientOptions) throws {
        if options.json { return try options.printJSON(incident) }
        let time = ISO8601DateFormatter()
        var lines = [
            "incident \(incident.id): \(incident.kind) of " + (incident.lamp.map { "lamp \($0)" } ?? "cabinet \(incident.cabinet ?? "-")"),
            "state:   \(incident.state)", "opened:  \(time.string(from: incident.openedAt))", "detail:  \(incident.detail)",
        ]
        if let by = incident.acknowledgedBy, let at = incident.acknowledgedAt { lines.append("acknowledged by \(by) at \(time.string(from: at))") }
        if let by = incident.resolvedBy, let at = incident.resolvedAt {
            // The fault stopping is no one's name: "resolved at T: cleared by the lamp".
            lines.append(by == "cleared by the lamp" ? "resolved at \(time.string(from: at)): \(by)" : "resolved by \(by) at \(time.string(from: at))")
        }
        Swift.print(lines.joined(separator: "\n"))
    }
}
