import ArgumentParser
import FleetCore
import FleetStore
import Foundation
import LampProtocol

/// `lamplighterd lamps ...`: provisioning.
struct Lamps: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register lamps (provisioning). Works while the daemon runs: it picks new lamps up when they connect.",
        subcommands: [Add.self, Import.self, Generate.self, List.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register one lamp.")

        @OptionGroup var storage: StorageOptions
        @Argument(help: "The lamp id: 1 to 32 of A-Z a-z 0-9 . _ -") var id: String
        @Option(help: "A human name.") var name: String?
        @Option(help: "A group; repeat for several.") var group: [String] = []
        @Option(parsing: .unconditional, help: "Latitude, decimal degrees (south is negative).") var latitude: Double?
        @Option(parsing: .unconditional, help: "Longitude, decimal degrees (west is negative).") var longitude: Double?
        @Option(help: "Rated power at full light, watts.") var wattage: Double?

        func run() throws {
            let record = try LampRows.record(
                id: id, name: name, latitude: latitude, longitude: longitude, wattage: wattage, groups: group, where: "")
            try LampRows.store(storage).addLamps([record], atMilliseconds: LampRows.now())
            print("registered \(record.id)")
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register lamps from a CSV file, all or none.",
            discussion: """
                The first line names the columns: id (required), name, latitude, longitude, \
                wattage, groups (several separated by ';'). Errors name the line and the column.
                """)

        @OptionGroup var storage: StorageOptions
        @Argument(help: "The CSV file.") var file: String

        func run() throws {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("cannot read \(file)")
            }
            let records = try LampRows.parseCSV(text, file: file)
            try LampRows.store(storage).addLamps(records, atMilliseconds: LampRows.now())
            print("registered \(records.count) lamps from \(file)")
        }
    }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register numbered lamps, e.g. lamp-0001 to lamp-1000, for simulation and tests.")

        @OptionGroup var storage: StorageOptions
        @Option(help: "How many lamps.") var count: Int
        @Option(help: "Id prefix.") var prefix: String = "lamp-"
        @Option(help: "First number.") var start: Int = 1
        @Option(help: "A group for all of them; repeat for several.") var group: [String] = []
        @Option(help: "Rated power at full light, watts.") var wattage: Double = 40
        @Option(
            parsing: .unconditional,
            help: "Place the lamps on a street grid centred here (with --longitude), e.g. 52.3676; without it they have no place.")
        var latitude: Double?
        @Option(parsing: .unconditional, help: "The grid's centre, decimal degrees (west is negative).") var longitude: Double?
        @Option(help: "Metres between lamps along a street on the grid; streets are three times as far apart.") var spacing: Double = 30

        func validate() throws {
            guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be from 1 to 1000000") }
            guard start >= 0 else { throw ValidationError("--start must not be negative") }
            if (latitude == nil) != (longitude == nil) { throw ValidationError("give --latitude and --longitude together") }
            if let latitude, !(-85...85).contains(latitude) { throw ValidationError("--latitude must be from -85 to 85") }
            if let longitude, !(-180...180).contains(longitude) { throw ValidationError("--longitude must be from -180 to 180") }
            guard spacing.isFinite, (1...1000).contains(spacing) else { throw ValidationError("--spacing must be from 1 to 1000 metres") }
        }

        func run() throws {
            let records = try (start..<(start + count)).map { number in
                let place = latitude.flatMap { latitude in
                    longitude.map { StreetGrid.place(number - start, of: count, latitude: latitude, longitude: $0, spacing: spacing) }
                }
                return try LampRows.record(
                    id: LampRows.numberedID(prefix: prefix, number: number, count: start + count), name: nil,
                    latitude: place?.latitude, longitude: place?.longitude, wattage: wattage, groups: group, where: "")
            }
            try LampRows.store(storage).addLamps(records, atMilliseconds: LampRows.now())
            // validate() made count at least 1, so there is a first and a last.
            print("registered \(records.count) lamps: \(records.first!.id) to \(records.last!.id)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered lamps from the database.")

        @OptionGroup var storage: StorageOptions

        func run() throws {
            let lamps = try LampRows.store(storage).loadAll()
            print("ID".padding(toLength: 34, withPad: " ", startingAt: 0) + "DESIRED  APPLIED  GROUPS")
            for lamp in lamps {
                let id = lamp.record.id.value.padding(toLength: 34, withPad: " ", startingAt: 0)
                let desired = String(lamp.desired.control.version).padding(toLength: 9, withPad: " ", startingAt: 0)
                let applied = String(lamp.reported?.appliedVersion ?? 0).padding(toLength: 9, withPad: " ", startingAt: 0)
                print(id + desired + applied + lamp.record.groups.joined(separator: ","))
            }
            print("\(lamps.count) lamps")
        }
    }
}

/// Where `lamps generate --latitude --longitude` puts its lamps: along east-west streets,
/// `spacing` metres apart, the streets three spacings apart, the grid about as tall as wide
/// and centred on the place. Deterministic, so a test or a demo gets the same map every time.
enum StreetGrid {
    /// Metres per degree of latitude (and of longitude at the equator).
    static let metresPerDegree = 111_320.0

    /// The place of lamp `index` (0-based) of `count`, rounded to 1e-7 degrees (about 1 cm).
    static func place(_ index: Int, of count: Int, latitude: Double, longitude: Double, spacing: Double) -> (latitude: Double, longitude: Double) {
        let columns = max(1, Int((3 * Double(count)).squareRoot().rounded(.up)))
        let rows = (count + columns - 1) / columns
        let east = (Double(index % columns) - Double(columns - 1) / 2) * spacing
        let north = (Double(rows - 1) / 2 - Double(index / columns)) * spacing * 3
        let latitudeDegrees = latitude + north / metresPerDegree
        let longitudeDegrees = longitude + east / (metresPerDegree * cos(latitude * .pi / 180))
        return ((latitudeDegrees * 1e7).rounded() / 1e7, (min(180, max(-180, longitudeDegrees)) * 1e7).rounded() / 1e7)
    }
}

/// Turning user input into lamp records, with errors that say where.
enum LampRows {
    static func now() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    static func store(_ storage: StorageOptions) throws -> FleetStore {
        do {
            return try FleetStore(path: storage.database)
        } catch {
            throw ValidationError("cannot open the database \(storage.database): \(error)")
        }
    }

    static func numberedID(prefix: String, number: Int, count: Int) -> String {
        let width = max(4, String(count).count)
        let digits = String(number)
        return prefix + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// A lamp record by the one registration rule (`LampRecord.validated`, the API's too),
    /// with errors that say where (`place`: e.g. `lamps.csv:3: `).
    static func record(
        id: String, name: String?, latitude: Double?, longitude: Double?, wattage: Double?, groups: [String], where place: String
    ) throws -> LampRecord {
        do {
            return try LampRecord.validated(id: id, name: name, latitude: latitude, longitude: longitude, wattage: wattage, groups: groups)
        } catch {
            throw ValidationError(place + error.message)
        }
    }

    /// Parses the import format; quoting is not supported, so a comma cannot appear in a field.
    static func parseCSV(_ text: String, file: String) throws -> [LampRecord] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        guard let header = lines.first, !header.isEmpty else { throw ValidationError("\(file): empty file, expected a header line") }
        let columns = header.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        let known: Set = ["id", "name", "latitude", "longitude", "wattage", "groups"]
        if let unknown = columns.first(where: { !known.contains($0) }) {
            throw ValidationError("\(file):1: unknown column '\(unknown)' (known: id, name, latitude, longitude, wattage, groups)")
        }
        guard columns.contains("id") else { throw ValidationError("\(file):1: the header has no id column") }
        var records: [LampRecord] = []
        var seen: Set<String> = []
        for (index, line) in lines.enumerated().dropFirst() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let place = "\(file):\(index + 1): "
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard fields.count == columns.count else {
                throw ValidationError("\(place)expected \(columns.count) fields, found \(fields.count)")
            }
            var values: [String: String] = [:]
            for (column, field) in zip(columns, fields) where !field.isEmpty {
                values[column] = field
            }
            func number(_ column: String) throws -> Double? {
                guard let text = values[column] else { return nil }
                guard let value = Double(text) else { throw ValidationError("\(place)\(column) '\(text)' is not a number") }
                return value
            }
            let id = values["id"] ?? ""
            guard seen.insert(id).inserted else { throw ValidationError("\(place)id '\(id)' appears twice in the file") }
            records.append(
                try record(
                    id: id, name: values["name"], latitude: try number("latitude"), longitude: try number("longitude"),
                    wattage: try number("wattage"),
                    groups: values["groups"].map { $0.split(separator: ";").map(String.init) } ?? [], where: place))
        }
        guard !records.isEmpty else { throw ValidationError("\(file): no lamps after the header") }
        return records
    }
}
