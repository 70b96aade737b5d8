import ArgumentParser
import CommandLineSupport
import Foundation
import LampCSV
import OperatorAPI
import OperatorClient

/// `lampctl lamps ...`: list lamps; register and change them (admin), through the API, so
/// the running daemon knows them at once.
struct Lamps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List lamps; register (add, import, generate), change (set) and remove them through the daemon.",
        discussion: """
            Registration needs an admin token. A lamp is known to the running daemon the \
            moment this returns: it may connect at once.
            """,
        subcommands: [List.self, Add.self, Import.self, Generate.self, Set.self, Remove.self, Revoke.self, Restore.self, Rekey.self, Keys.self, RotateMaster.self, RetireMaster.self,
        ],
        defaultSubcommand: List.self)

    /// Prints registered lamps as `lampctl lamps` does, or their JSON.
    static func printRegistered(_ lamps: [LampView], options: ClientOptions, what: String) throws {
        if options.json { return try options.printJSON(lamps) }
        guard let first = lamps.first, let last = lamps.last else { return }
        print("registered \(LampCSV.lamps(lamps.count))\(what): \(first.id)" + (lamps.count > 1 ? " to \(last.id)" : ""))
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register one lamp (admin).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The lamp id: 1 to 32 of A-Z a-z 0-9 . _ -") var id: String
        @Option(help: "A human name.") var name: String?
        @Option(help: "A group; repeat for several.") var group: [String] = []
        @Option(parsing: .unconditional, help: "Latitude, decimal degrees (south is negative).") var latitude: Double?
        @Option(parsing: .unconditional, help: "Longitude, decimal degrees (west is negative).") var longitude: Double?
        @Option(help: "Rated power at full light, watts.") var wattage: Double?
        @Option(help: "The cabinet (feeder pillar) it is fed from.") var cabinet: String?

        func run() async throws {
            let client = options.client
            let registration = LampRegistration(
                id: id, name: name, groups: group.isEmpty ? nil : group, latitude: latitude, longitude: longitude, wattage: wattage,
                cabinet: cabinet)
            let lamps = try await Exit.call { try await client.register([registration]) }
            try Lamps.printRegistered(lamps, options: options, what: "")
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register lamps from a CSV file, all or none (admin).",
            discussion: """
                The first line names the columns: id (required), name, latitude, longitude, \
                wattage, groups (several separated by ';'), cabinet. A field in double quotes may hold \
                commas ("Quay, north"). Errors name the line and the column; the daemon's \
                refusals are mapped back to the line.
                """)
        @OptionGroup var options: ClientOptions
        @Argument(help: "The CSV file ('-' for standard input).") var file: String

        func run() async throws {
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
            guard let data else { throw ValidationError("cannot read \(file)") }
            let rows: [LampCSVRow]
            do {
                rows = try LampCSV.parse(String(decoding: data, as: UTF8.self), file: file)
            } catch {
                printError("lampctl: \(error)")
                throw Exit.invalidInput
            }
            let client = options.client
            do {
                let lamps = try await client.register(rows.map(\.registration))
                try Lamps.printRegistered(lamps, options: options, what: " from \(file)")
            } catch OperatorClientError.refused(let status, let error) where status == 400 || status == 409 {
                printError("lampctl: " + Self.placed(error, rows: rows, file: file))
                throw status == 409 ? Exit.refused : Exit.invalidInput
            } catch {
                throw Exit.fail(error)
            }
        }

        /// The daemon's error with its row's line: field `[12].latitude` is line 14 or so.
        static func placed(_ error: APIError, rows: [LampCSVRow], file: String) -> String {
            if let field = error.field, field.hasPrefix("["), let close = field.firstIndex(of: "]"),
                let index = Int(field.dropFirst().prefix(upTo: close)), rows.indices.contains(index)
            {
                let message = error.error.replacingOccurrences(of: "[\(index)].", with: "")
                return "\(file):\(rows[index].line): \(message)"
            }
            if let row = rows.first(where: { error.error.contains("lamp \($0.registration.id) ") }) {
                return "\(file):\(row.line): \(error.error)"
            }
            return "\(file): \(error.error)"
        }
    }

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register numbered lamps, e.g. lamp-0001 to lamp-1000, for simulation and tests (admin).")
        @OptionGroup var options: ClientOptions
        @Option(help: "How many lamps, 1 to 20000.") var count: Int
        @Option(help: "Id prefix.") var prefix: String = "lamp-"
        @Option(help: "First number.") var start: Int = 1
        @Option(help: "A group for all of them; repeat for several.") var group: [String] = []
        @Option(help: "Rated power at full light, watts.") var wattage: Double = 40
        @Option(help: "The cabinet (feeder pillar) they are fed from.") var cabinet: String?
        @OptionGroup var grid: StreetGridOptions

        func validate() throws {
            guard (1...20_000).contains(count) else { throw ValidationError("--count must be from 1 to 20000 (one request)") }
            guard start >= 0 else { throw ValidationError("--start must not be negative") }
        }

        func run() async throws {
            let client = options.client
            let registrations = LampCSV.numberedIDs(prefix: prefix, start: start, count: count).enumerated().map { index, id in
                let place = grid.place(index, of: count)
                return LampRegistration(
                    id: id, groups: group.isEmpty ? nil : group, latitude: place?.latitude, longitude: place?.longitude, wattage: wattage,
                    cabinet: cabinet)
            }
            let lamps = try await Exit.call { try await client.register(registrations) }
            try Lamps.printRegistered(lamps, options: options, what: "")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove lamps (admin): their registration, state and memberships; their events stay.",
            discussion: "A removed lamp's link is closed (4001) and it is refused from then on, as any unregistered lamp.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Lamp ids.") var ids: [String]

        func validate() throws {
            guard !ids.isEmpty else { throw ValidationError("name at least one lamp") }
        }

        func run() async throws {
            let client = options.client
            var removed: [Deleted] = []
            for id in ids {
                try await Exit.call { try await client.removeLamp(id) }
                removed.append(Deleted(kind: "lamp", name: id))
                if !options.json { print("removed \(id)") }
            }
            if options.json { try options.printJSON(removed) }
        }
    }

    /// One or more lamp ids, as revoke and restore take them.
    struct LampIDs: ParsableArguments {
        @Argument(help: "Lamp ids.") var ids: [String]

        func validate() throws {
            guard !ids.isEmpty else { throw ValidationError("name at least one lamp") }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke lamps (admin): their links close at once (4001) and their hellos are refused until restored.",
            discussion: """
                A revoked lamp stays registered (state, groups, history) and shows 'revoked'. \
                A restored lamp's old key must be presumed stolen: 'lamps restore' also starts a \
                key rotation, so its first link gives it a new key and the old one is refused \
                from then on ('lamps keys' shows it pending until then).
                """)
        @OptionGroup var options: ClientOptions
        @OptionGroup var lamps: LampIDs

        func run() async throws {
            try await Lamps.setRevoked(lamps.ids, true, options: options)
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore revoked lamps (admin): their hellos are accepted again, and each one's key is rotated on its next link.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var lamps: LampIDs

        func run() async throws {
            try await Lamps.setRevoked(lamps.ids, false, options: options)
        }
    }

    struct Rekey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rotate lamp keys (admin, audited): each lamp gets a new key over its authenticated link.",
            discussion: """
                A linked lamp gets its new key at once, the others when they link. Until the lamp \
                has proven the new key (its ack, or a hello with it) both keys are accepted; then \
                the old one is refused (4001). Lamps of protocol 1.0 and 1.1 have no authenticated \
                frames and cannot be rotated: they are listed as refused. 'lampctl lamps keys' \
                shows the rotations still pending.
                """)
        @OptionGroup var options: ClientOptions
        @Argument(help: "all, group:NAME, lamp:ID or a lamp ID.") var target: String

        func run() async throws {
            let client = options.client
            let text = target == "all" || target.hasPrefix("group:") || target.hasPrefix("lamp:") ? target : "lamp:\(target)"
            let result = try await Exit.call { try await client.rekey(text) }
            if options.json { return try options.printJSON(result) }
            for (id, generation) in result.pending.sorted(by: { $0.key < $1.key }) {
                print("rekey \(id): generation \(generation) pending")
            }
            for (id, reason) in result.refused.sorted(by: { $0.key < $1.key }) {
                print("not rekeyed \(id): \(reason)")
            }
        }
    }

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show lamp key generations, rotations pending and lamps that cannot be rotated (admin).")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let client = options.client
            let view = try await Exit.call { try await client.keys() }
            try Keys.print(view, options: options)
        }

        /// A change to the master keys: the daemon's answer, a line saying what happened
        /// (not with --json), then where the keys stand.
        static func change(
            _ options: ClientOptions, _ call: (OperatorClient) async throws -> KeysView, done: (KeysView) -> String
        ) async throws {
            let client = options.client
            let view = try await Exit.call { try await call(client) }
            if !options.json { Swift.print(done(view)) }
            try print(view, options: options)
        }

        static func print(_ view: KeysView, options: ClientOptions) throws {
            if options.json { return try options.printJSON(view) }
            Swift.print("master \(view.currentMaster) (current): \(LampCSV.lamps(view.masters[view.currentMaster] ?? 0))")
            for id in view.olderMasters {
                Swift.print("master \(id) (older): \(LampCSV.lamps(view.masters[id] ?? 0))")
            }
            for (generation, count) in view.generations.sorted(by: { UInt32($0.key) ?? 0 < UInt32($1.key) ?? 0 }) {
                Swift.print("generation \(generation): \(LampCSV.lamps(count))")
            }
            Swift.print("rotation pending: \(view.pending.isEmpty ? "none" : view.pending.joined(separator: " "))")
            if !view.unrotatable.isEmpty { Swift.print("cannot rotate (protocol 1.0/1.1): \(view.unrotatable.joined(separator: " "))") }
        }
    }

    struct RotateMaster: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rotate the fleet master key without downtime (admin, audited).",
            discussion: """
                The running daemon makes a new master key and keeps the old one in its key file \
                (one key per line, current first, mode 0600) for lamps not yet moved; every lamp \
                is rekeyed onto the new master over its link, now or when it links. No link is \
                closed. When 'lampctl lamps keys' shows no lamp on an older master, drop it with \
                'lampctl lamps retire-master'. Lamps of protocol 1.0/1.1 cannot move and keep the \
                old master in use. Refused when the key was given with --fleet-key.
                """)
        @OptionGroup var options: ClientOptions

        func run() async throws {
            try await Keys.change(options, { try await $0.rotateMasterKey() }) { "new master key \($0.currentMaster): every lamp is being rekeyed onto it" }
        }
    }

    struct RetireMaster: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drop the older fleet master keys from the key file (admin, audited); refused while a lamp uses one.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            try await Keys.change(options, { try await $0.retireMasterKeys() }) { "older master keys retired: the key file holds \($0.currentMaster) only" }
        }
    }

    static func setRevoked(_ ids: [String], _ revoked: Bool, options: ClientOptions) async throws {
        let client = options.client
        var views: [LampView] = []
        for id in ids {
            views.append(try await Exit.call { try await client.setRevoked(id, revoked) })
            if !options.json { print("\(revoked ? "revoked" : "restored") \(id)") }
        }
        if options.json { try options.printJSON(views) }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a lamp's name, place, wattage or cabinet (admin).",
            discussion: """
                A lamp that moves and runs a lighting program gets it again for its new place. \
                Groups change with 'lampctl group add/remove'.
                """)
        @OptionGroup var options: ClientOptions
        @Argument(help: "The lamp id.") var id: String
        @Option(help: "A human name.") var name: String?
        @Option(parsing: .unconditional, help: "Latitude, decimal degrees (south is negative).") var latitude: Double?
        @Option(parsing: .unconditional, help: "Longitude, decimal degrees (west is negative).") var longitude: Double?
        @Option(help: "Rated power at full light, watts.") var wattage: Double?
        @Option(help: "The cabinet (feeder pillar) it is fed from.") var cabinet: String?

        func validate() throws {
            guard name != nil || latitude != nil || longitude != nil || wattage != nil || cabinet != nil else {
                throw ValidationError("nothing to change: give --name, --latitude and --longitude, --wattage or --cabinet")
            }
        }

        func run() async throws {
            let client = options.client
            let lamp = try await Exit.call {
                try await client.updateLamp(id, LampUpdate(name: name, latitude: latitude, longitude: longitude, wattage: wattage, cabinet: cabinet))
            }
            if options.json { return try options.printJSON(lamp) }
            let place = lamp.latitude.flatMap { latitude in lamp.longitude.map { "\(latitude), \($0)" } } ?? "none"
            print("lamp \(lamp.id): name \(lamp.name ?? "-"), place \(place), wattage \(lamp.wattage.map { "\($0) W" } ?? "-"), cabinet \(lamp.cabinet ?? "-")")
        }
    }
}

extension Lamps {
/// `lampctl lamps [list]`: the fleet as a table.
struct List: AsyncParsableCommand {
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
                lamp.id, lamp.revoked == true ? "revoked" : (lamp.online ? "yes" : "no"), Table.desired(lamp.desired),
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
