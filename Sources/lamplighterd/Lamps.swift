import ArgumentParser
import CommandLineSupport
import FleetCore
import Foundation
import LampCSV
import LampProtocol
import OperatorAPI

/// `lamplighterd lamps ...`: provisioning on the database, while no daemon runs.
struct Lamps: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register lamps in the database while the daemon is stopped (while it runs: 'lampctl lamps add/import/generate').",
        discussion: """
            These write the database directly, with the daemon's own registration rule. A \
            running daemon would not see lamps written behind its back, so while one holds \
            the database they refuse (exit 75) and name the lampctl command that registers \
            through it. 'list' works at any time.
            """,
        subcommands: [Add.self, Import.self, Generate.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register one lamp.")

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The lamp id: 1 to 32 of A-Z a-z 0-9 . _ -") var id: String
        @Option(help: "A human name.") var name: String?
        @Option(help: "A group; repeat for several.") var group: [String] = []
        @Option(parsing: .unconditional, help: "Latitude, decimal degrees (south is negative).") var latitude: Double?
        @Option(parsing: .unconditional, help: "Longitude, decimal degrees (west is negative).") var longitude: Double?
        @Option(help: "Rated power at full light, watts.") var wattage: Double?
        @Option(help: "The cabinet (feeder pillar) it is fed from.") var cabinet: String?

        func run() async throws {
            let record = try LampRows.record(
                id: id, name: name, latitude: latitude, longitude: longitude, wattage: wattage, groups: group, cabinet: cabinet, where: "")
            let path = try await LampRows.register([record], database, lampctl: "lampctl lamps add \(id) ...")
            print("registered \(record.id) in \(path)")
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register lamps from a CSV file, all or none.",
            discussion: """
                The first line names the columns: id (required), name, latitude, longitude, \
                wattage, groups (several separated by ';'), cabinet. Fields in double quotes may hold \
                commas ("Quay, north"). Errors name the line and the column.
                """)

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The CSV file.") var file: String

        func run() async throws {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw DaemonExit.fail("cannot read \(file)", DaemonExit.noInput)
            }
            let rows: [LampCSVRow]
            do {
                rows = try LampCSV.parse(text, file: file)
            } catch {
                throw DaemonExit.fail(error.description, DaemonExit.dataError)
            }
            let records = try rows.map { row in
                let lamp = row.registration
                return try LampRows.record(
                    id: lamp.id, name: lamp.name, latitude: lamp.latitude, longitude: lamp.longitude, wattage: lamp.wattage,
                    groups: lamp.groups ?? [], cabinet: lamp.cabinet, where: "\(file):\(row.line): ")
            }
            let path = try await LampRows.register(records, database, lampctl: "lampctl lamps import \(file)")
            print("registered \(LampCSV.lamps(records.count)) from \(file) in \(path)")
        }
    }

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register numbered lamps, e.g. lamp-0001 to lamp-1000, for simulation and tests.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var numbering: LampNumbering
        @OptionGroup var grid: StreetGridOptions

        func run() async throws {
            let records = try numbering.ids().enumerated().map { index, id in
                let place = grid.place(index, of: numbering.count)
                return try LampRows.record(
                    id: id, name: nil, latitude: place?.latitude, longitude: place?.longitude, wattage: numbering.wattage,
                    groups: numbering.group, cabinet: numbering.cabinet, where: "")
            }
            let path = try await LampRows.register(records, database, lampctl: "lampctl lamps generate --count \(numbering.count)")
            // LampNumbering.validate() made count at least 1, so there is a first and a last.
            print("registered \(LampCSV.lamps(records.count)) in \(path): \(records.first!.id) to \(records.last!.id)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered lamps from the database.")

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let lamps = try await database.openExisting().store.loadAll()
            print("ID".padding(toLength: 34, withPad: " ", startingAt: 0) + "DESIRED  APPLIED  GROUPS")
            for lamp in lamps {
                let id = lamp.record.id.value.padding(toLength: 34, withPad: " ", startingAt: 0)
                let desired = String(lamp.desired.control.version).padding(toLength: 9, withPad: " ", startingAt: 0)
                let applied = String(lamp.reported?.appliedVersion ?? 0).padding(toLength: 9, withPad: " ", startingAt: 0)
                print(id + desired + applied + lamp.record.groups.joined(separator: ","))
            }
            print(LampCSV.lamps(lamps.count))
        }
    }
}

/// Numbered lamp ids: `--count`, `--prefix`, `--start` (shared with `lampctl lamps generate`'s rule).
struct LampNumbering: ParsableArguments {
    @Option(help: "How many lamps.") var count: Int
    @Option(help: "Id prefix.") var prefix: String = "lamp-"
    @Option(help: "First number.") var start: Int = 1
    @Option(help: "A group for all of them; repeat for several.") var group: [String] = []
    @Option(help: "Rated power at full light, watts.") var wattage: Double = 40
    @Option(help: "The cabinet (feeder pillar) they are fed from.") var cabinet: String?

    func validate() throws {
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be from 1 to 1000000") }
        guard start >= 0 else { throw ValidationError("--start must not be negative") }
    }

    /// The ids, zero-padded to at least four digits.
    func ids() -> [String] {
        LampCSV.numberedIDs(prefix: prefix, start: start, count: count)
    }
}

/// Turning user input into lamp records, with errors that say where.
enum LampRows {
    static func now() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    /// Writes lamps to the existing database unless a daemon holds it (a SQLite file's lock;
    /// a PostgreSQL database has none: a daemon on it sees them after a restart); returns
    /// the database as shown.
    static func register(_ records: [LampRecord], _ database: DatabaseOptions, lampctl: String) async throws -> String {
        let location = try database.location()
        if let path = location.path {
            guard FileManager.default.fileExists(atPath: path) else {
                _ = try await database.openExisting()  // throws the error that names the database
                return path
            }
            guard try DatabaseLock.take(path, exclusive: false) else {
                throw DaemonExit.fail(
                    "a running lamplighterd holds \(path) and would not see lamps written behind its back: register them through it with '\(lampctl)' (an admin token), or stop it first",
                    DaemonExit.busy)
            }
        }
        let (store, _) = try await database.openExisting(announce: false)
        do {
            try await store.addLamps(records, config: .initial, atMilliseconds: now())
        } catch let error as FleetError {
            throw DaemonExit.fail(error.message, DaemonExit.dataError)
        }
        return location.description
    }

    /// A lamp record by the one registration rule (`LampRecord.validated`, the API's too),
    /// with errors that say where (`place`: e.g. `lamps.csv:3: `).
    static func record(
        id: String, name: String?, latitude: Double?, longitude: Double?, wattage: Double?, groups: [String], cabinet: String?,
        where place: String
    ) throws -> LampRecord {
        do {
            return try LampRecord.validated(
                id: id, name: name, latitude: latitude, longitude: longitude, wattage: wattage, groups: groups, cabinet: cabinet)
        } catch {
            throw DaemonExit.fail(place + error.message, DaemonExit.dataError)
        }
    }
}
