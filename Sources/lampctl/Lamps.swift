import ArgumentParser
import Foundation
import OperatorAPI
import OperatorClient

/// `lampctl lamps`: the fleet as a table.
struct Lamps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List lamps: desired versus reported, online, faults.")

    @OptionGroup var options: ClientOptions
    @Option(help: "Only lamps in this group.") var group: String?
    @Option(help: "Only lamps in this desired mode: program, level, on, off, override.") var mode: String?
    @Flag(help: "Only lamps reporting a fault.") var fault = false
    @Flag(help: "Only online lamps.") var online = false
    @Flag(help: "Only offline lamps.") var offline = false
    @Option(help: "Lamps per page, 1 to 10000.") var limit: Int = 100
    @Option(help: "Lamps to skip.") var offset: Int = 0

    func validate() throws {
        guard !(online && offline) else { throw ValidationError("--online and --offline exclude each other") }
        guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000") }
        guard offset >= 0 else { throw ValidationError("--offset must not be negative") }
        if let mode, !["program", "level", "on", "off", "override"].contains(mode) {
            throw ValidationError("--mode must be program, level, on, off or override")
        }
    }

    func run() async throws {
        let client = options.client
        let page = try await Exit.call {
            try await client.lamps(
                group: group, mode: mode, online: online ? true : (offline ? false : nil), fault: fault ? true : nil, offset: offset,
                limit: limit)
        }
        if options.json { return try options.printJSON(page) }
        var rows = [["LAMP", "ONLINE", "DESIRED", "REPORTED", "POWER", "FAULTS", "GROUPS"]]
        for lamp in page.lamps {
            rows.append([
                lamp.id, lamp.online ? "yes" : "no", Table.desired(lamp.desired),
                lamp.reported.map { Table.percent($0.level) + " " + $0.mode + ($0.appliedVersion >= lamp.desired.version ? "" : " (behind)") } ?? "-",
                lamp.reported.map { String(format: "%.1f W", $0.powerWatts) } ?? "-",
                lamp.reported.map { $0.faults.isEmpty ? "-" : $0.faults.joined(separator: ",") } ?? "-",
                lamp.groups.joined(separator: ","),
            ])
        }
        print(Table.render(rows))
        print("\(page.lamps.count) of \(page.total) lamps" + (page.total > page.offset + page.lamps.count ? " (--offset \(page.offset + page.lamps.count) for more)" : ""))
    }
}

/// Plain-text tables.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    static func percent(_ value: Double) -> String {
        value == value.rounded() ? String(format: "%.0f%%", value) : String(format: "%.1f%%", value)
    }

    static func desired(_ desired: DesiredView) -> String {
        switch desired.mode {
        case "level": return desired.level.map(percent) ?? "level"
        case "override":
            let until = desired.overrideUntil.map { " until " + ISO8601DateFormatter().string(from: $0) } ?? ""
            return (desired.level.map(percent) ?? "") + until
        default: return desired.mode
        }
    }
}
