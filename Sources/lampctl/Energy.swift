import ArgumentParser
import Foundation
import OperatorAPI
import OperatorClient

/// `lampctl energy`.
struct Energy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Energy used, at full power, and saved, per hour, day or month.",
        discussion: """
            TARGET is all, group:NAME or a lamp id. Used energy comes from the lamps' own energy \
            counters; full power is the same time lit at each lamp's registered wattage; saved is \
            the difference, what dimming and programs saved. Steps are UTC hours, days and \
            months; steps without energy are left out. A lamp offline for a while has the \
            energy its counter gained spread over the hours it was away; a counter that went \
            back (a reset) counts nothing for that interval.

            Examples:
              lampctl energy all --from 2026-11-29 --to 2026-11-30
              lampctl energy group:harbour --step day --from 2026-11-01T00:00:00Z --csv
            """)

    @OptionGroup var options: ClientOptions
    @Argument(help: "all, group:NAME or a lamp id.") var target: String
    @Option(help: "Start, ISO 8601 (2026-11-29 or 2026-11-29T17:00:00Z); default: a day before --to.") var from: String?
    @Option(help: "End (not included), ISO 8601; default: now.") var to: String?
    @Option(help: "hour, day or month (UTC).") var step: String = "hour"
    @Flag(help: "Print CSV instead of a table.") var csv = false

    func validate() throws {
        guard ["hour", "day", "month"].contains(step) else { throw ValidationError("--step must be hour, day or month") }
        if csv && options.json { throw ValidationError("give --csv or --json, not both") }
    }

    func run() async throws {
        let client = options.client
        let report = try await Exit.call { try await client.energy(target: target, from: from, to: to, step: step) }
        if options.json { return try options.printJSON(report) }
        let time = ISO8601DateFormatter()
        func numbers(_ row: EnergyRow) -> [String] {
            [Self.fixed(row.usedWh / 1000, 3), Self.fixed(row.fullPowerWh / 1000, 3), Self.fixed(row.savedWh / 1000, 3),
             Self.percent(row), Self.fixed(row.litHours, 1), "\(row.lamps)"]
        }
        let header = ["START", "USED KWH", "FULL KWH", "SAVED KWH", "SAVED %", "LIT HOURS", "LAMPS"]
        if csv {
            print("start,used_kwh,full_power_kwh,saved_kwh,saved_percent,lit_hours,lamps")
            for row in report.rows { print(([time.string(from: row.start)] + numbers(row)).joined(separator: ",")) }
            return
        }
        if report.rows.isEmpty {
            print("no energy for \(report.target) from \(time.string(from: report.from)) to \(time.string(from: report.to))")
            return
        }
        print(Table.render([header] + report.rows.map { [time.string(from: $0.start)] + numbers($0) } + [["total"] + numbers(report.total)]))
    }

    static func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

    static func percent(_ row: EnergyRow) -> String {
        row.fullPowerWh > 0 ? fixed(100 * row.savedWh / row.fullPowerWh, 1) : "-"
    }
}
