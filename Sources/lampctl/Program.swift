import ArgumentParser
import Foundation
import LightingPrograms
import OperatorAPI
import OperatorClient

/// `lampctl program ...`: lighting programs.
struct Program: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lighting programs: set from a file, show, list, assign, preview a night, forecast a year.",
        discussion: """
            A program file has one switch point per line: TRIGGER LEVEL [fade S] [days D] \
            [dates MM-DD..MM-DD], where TRIGGER is HH:MM or sunset, sunrise, dusk, dawn with an \
            offset such as -10m or +1h, and LEVEL a percentage, on or off; \
            'skip-shorter-than 15m' drops a switch-on that would be off again sooner. \
            Lamps run their program themselves, also without a link.
            """,
        subcommands: [List.self, Show.self, Set.self, Assign.self, Preview.self, Forecast.self, Delete.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every program, its revision and how many lamps run it.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let client = options.client
            let programs = try await Exit.call { try await client.programs() }
            if options.json { return try options.printJSON(programs) }
            print(Table.render([["PROGRAM", "REVISION", "ENTRIES", "LAMPS"]] + programs.map { [$0.name, "\($0.revision)", "\($0.entries)", "\($0.lamps)"] }))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One program's file.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The program's name.") var name: String

        func run() async throws {
            let client = options.client
            let program = try await Exit.call { try await client.program(name) }
            if options.json { return try options.printJSON(program) }
            print("# \(program.name), revision \(program.revision), \(program.lamps) lamps, time zone \(program.timeZone)")
            print(program.source, terminator: program.source.hasSuffix("\n") ? "" : "\n")
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or change a program from a file; lamps running it get the change.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The program's name.") var name: String
        @Argument(help: "The program file ('-' for standard input).") var file: String

        func run() async throws {
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
            guard let data else { throw ValidationError("cannot read \(file)") }
            let source = String(decoding: data, as: UTF8.self)
            // Check here first, so the error names the file.
            do {
                _ = try ProgramText.parse(source)
            } catch {
                printError("lampctl: \(file): \(error)")
                throw Exit.invalidInput
            }
            let client = options.client
            let saved = try await Exit.call { try await client.saveProgram(name, source: source) }
            if options.json { return try options.printJSON(saved) }
            print("program \(saved.name) revision \(saved.revision): \(saved.entries) entries, running on \(saved.lamps) lamps")
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a program on a lamp, a group or the fleet.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The program's name.") var name: String
        @Argument(help: "all, group:NAME, lamp:ID or a lamp ID.") var target: String

        func run() async throws {
            let client = options.client
            let assigned = try await Exit.call { try await client.assignProgram(name, target: CommandRun.target(target)) }
            if options.json { return try options.printJSON(assigned) }
            print("program \(assigned.program) revision \(assigned.revision) assigned to \(assigned.target): \(assigned.lamps) lamps")
            if let held = assigned.heldByCommand, held > 0 {
                print(
                    (held == 1 ? "1 lamp holds" : "\(held) lamps hold") + " a level or override from a command: 'lampctl resume \(assigned.target)' makes "
                        + (held == 1 ? "it" : "them") + " follow the program")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a program no lamp runs.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The program's name.") var name: String

        func run() async throws {
            let client = options.client
            try await Exit.call { try await client.deleteProgram(name) }
            if options.json { return try options.printJSON(Deleted(kind: "program", name: name)) }
            print("deleted program \(name)")
        }
    }

    /// `--at LAT,LON`.
    static func coordinates(_ at: String) throws -> (latitude: Double, longitude: Double) {
        let parts = at.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, (-90...90).contains(parts[0]), (-180...180).contains(parts[1]) else {
            throw ValidationError("--at must be LAT,LON in degrees, e.g. 52.37,4.90")
        }
        return (parts[0], parts[1])
    }

    struct Forecast: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A year of a program at a place: hours lit and energy per month, from the solar calculator.",
            discussion: """
                Every night of the year (local noon to noon, in --tz or else the daemon's time \
                zone, so months and clock times such as 23:00 are local) at the \
                program's levels; a night counts in the month of its evening. Power is taken as \
                proportional to level: a step at 30 % uses 30 % of the wattage. The wattage is \
                --wattage, else the registered wattages of the lamps the program is assigned to, \
                summed. --compare shows a second program beside it and the difference.

                Example:
                  lampctl program forecast midnight --at 52.37,4.90 --year 2027 --wattage 60 --compare all-night
                """)
        @OptionGroup var options: ClientOptions
        @Argument(help: "The program's name.") var name: String
        @Option(parsing: .unconditional, help: "LAT,LON in degrees, e.g. 52.37,4.90 (default: the daemon's place).") var at: String?
        @Option(help: "The year, 1970 to 2199 (default: next year).") var year: Int = Calendar(identifier: .gregorian).component(.year, from: Date()) + 1
        @Option(help: "Watts in all (default: the lamps running the program).") var wattage: Double?
        @Option(help: "A second program to compare with.") var compare: String?
        @Option(help: "The time zone, an IANA name such as Europe/Amsterdam (default: the daemon's).") var tz: String?

        func validate() throws {
            guard (1970...2199).contains(year) else { throw ValidationError("--year must be from 1970 to 2199") }
            if let wattage, !(wattage > 0 && wattage.isFinite) { throw ValidationError("--wattage must be above 0") }
        }

        func run() async throws {
            let place = try at.map(Program.coordinates)
            let (latitude, longitude) = (place?.latitude, place?.longitude)
            let client = options.client
            let first = try await Exit.call {
                try await client.forecast(name, year: year, latitude: latitude, longitude: longitude, wattage: wattage, timeZone: tz)
            }
            var second: ProgramForecast?
            if let compare {
                // The same watts for both, so the difference is the programs'.
                second = try await Exit.call {
                    try await client.forecast(compare, year: year, latitude: latitude, longitude: longitude, wattage: first.wattage, timeZone: tz)
                }
            }
            if options.json { return try second.map { try options.printJSON([first, $0]) } ?? options.printJSON(first) }
            print(Self.render(first, second))
        }

        static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

        static func render(_ first: ProgramForecast, _ second: ProgramForecast?) -> String {
            func f(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
            var header = ["MONTH", "\(first.program) HOURS", "\(first.program) KWH"]
            if let second { header += ["\(second.program) HOURS", "\(second.program) KWH", "DIFFERENCE KWH"] } else { header += ["FULL POWER KWH", "SAVED KWH"] }
            var rows = [header]
            for (index, month) in (first.months + [first.total]).enumerated() {
                var row = [month.month == 0 ? "year" : monthNames[month.month - 1], f(month.litHours), f(month.energyKWh)]
                if let second {
                    let other = index < second.months.count ? second.months[index] : second.total
                    row += [f(other.litHours), f(other.energyKWh), f(month.energyKWh - other.energyKWh)]
                } else {
                    row += [f(month.fullPowerKWh), f(month.fullPowerKWh - month.energyKWh)]
                }
                rows.append(row)
            }
            let place = "\(first.latitude),\(first.longitude)"
            return "\(first.program), \(first.year), at \(place) (\(first.timeZone)), \(f(first.wattage, 0)) W\n" + Table.render(rows)
        }
    }

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A night of a program at a place: sunset, switch-on, every dim step, sunrise.",
            discussion: "NAME is a program on the daemon, or a program file with --file (no daemon needed).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The program's name (or, with --file, a label).") var name: String
        @Option(help: "Read the program from this file instead of the daemon.") var file: String?
        @Option(parsing: .unconditional, help: "LAT,LON in degrees, e.g. 52.37,4.90 or -33.86,151.21 (south and west negative).") var at: String
        @Option(help: "The evening's date, YYYY-MM-DD (default: today).") var date: String?
        @Option(help: "Time zone: IANA name or POSIX rule (default: the daemon's, or with --file the system's).") var tz: String?

        func run() async throws {
            let parts = try Program.coordinates(at)
            let evening = try Self.date(date)
            var source: String
            var zoneText = tz
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
                source = String(decoding: data, as: UTF8.self)
            } else {
                let client = options.client
                let program = try await Exit.call { try await client.program(name) }
                source = program.source
                zoneText = zoneText ?? program.timeZone
            }
            let program: LightingProgram
            do {
                program = try ProgramText.parse(source)
            } catch {
                printError("lampctl: \(file ?? name): \(error)")
                throw Exit.invalidInput
            }
            let zone = try Self.zone(zoneText)
            let place = Place(latitude: parts.latitude, longitude: parts.longitude, timeZone: zone)
            let night = ProgramEvaluator(program: program, place: place).night(of: evening)
            if options.json { return try options.printJSON(Self.preview(night, program: program, name: name, place: place)) }
            print(Self.render(night, program: program, name: name, place: place))
        }

        static func date(_ text: String?) throws -> CivilDate {
            guard let text else {
                return CivilDate(daysSinceEpoch: Int((Date().timeIntervalSince1970 / 86_400).rounded(.down)))
            }
            let parts = text.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 3, let date = CivilDate(year: parts[0], month: parts[1], day: parts[2]) else {
                throw ValidationError("--date must be YYYY-MM-DD")
            }
            return date
        }

        static func zone(_ text: String?) throws -> PosixTimeZone {
            let readFile = { (path: String) in FileManager.default.contents(atPath: path).map { [UInt8]($0) } }
            guard let text else { return PosixTimeZone.system(readFile: readFile) }
            do {
                return try PosixTimeZone.resolve(text, readFile: readFile)
            } catch {
                throw ValidationError("--tz: \(error.message)")
            }
        }

        /// The night as JSON: the place, and every sun crossing and switch point in order.
        static func preview(_ night: NightTimeline, program: LightingProgram, name: String, place: Place) -> PreviewJSON {
            var moments: [PreviewJSON.Moment] = []
            for (crossing, label) in [(night.sunset, "sunset"), (night.dusk, "dusk"), (night.dawn, "dawn"), (night.sunrise, "sunrise")] {
                if let instant = crossing.instant {
                    moments.append(PreviewJSON.Moment(at: Date(timeIntervalSince1970: Double(instant)), event: label))
                }
            }
            for point in night.points {
                moments.append(
                    PreviewJSON.Moment(
                        at: Date(timeIntervalSince1970: Double(point.instant)), event: "switch", level: Double(point.level) / 10,
                        fadeSeconds: Double(point.fadeDeciseconds) / 10, entry: ProgramText.trigger(program.entries[point.entry].trigger)))
            }
            moments.sort { $0.at < $1.at }
            let date = night.date
            return PreviewJSON(
                program: name, latitude: place.latitude, longitude: place.longitude, timeZone: place.timeZone.text,
                night: "\(date.year)-\(ProgramText.twoDigits(date.month))-\(ProgramText.twoDigits(date.day))",
                levelAtNoon: Double(night.levelAtNoon) / 10, moments: moments)
        }

        /// The night as lines: time, what happens, and which entry did it.
        static func render(_ night: NightTimeline, program: LightingProgram, name: String, place: Place) -> String {
            var items: [(Int64, String)] = []
            for (crossing, label) in [(night.sunset, "sunset"), (night.dusk, "civil dusk"), (night.dawn, "civil dawn"), (night.sunrise, "sunrise")] {
                if let instant = crossing.instant { items.append((instant, label)) }
            }
            var level = night.levelAtNoon
            for point in night.points {
                let what = ProgramText.change(from: level, to: point.level)
                level = point.level
                let entry = ProgramText.trigger(program.entries[point.entry].trigger)
                let fade = point.fadeDeciseconds > 0 ? ", fade " + ProgramText.decimal(Int(point.fadeDeciseconds)) + " s" : ""
                items.append((point.instant, what.padding(toLength: 22, withPad: " ", startingAt: 0) + "(\(entry)\(fade))"))
            }
            items.sort { $0.0 < $1.0 }
            let date = night.date
            var lines = [
                "program \(name) at \(place.latitude), \(place.longitude), time zone \(place.timeZone.text)",
                "night of \(date.year)-\(ProgramText.twoDigits(date.month))-\(ProgramText.twoDigits(date.day)); lamps at "
                    + ProgramText.level(night.levelAtNoon) + " at noon",
            ]
            switch (night.sunset, night.sunrise) {
            case (.alwaysBelow, _): lines.append("polar night: the sun does not rise")
            case (.alwaysAbove, _): lines.append("midnight sun: the sun does not set")
            default: break
            }
            for (instant, text) in items {
                let local = place.timeZone.local(instant + 30)  // to the nearest minute
                let seconds = local.secondsOfDay
                let clock = ProgramText.twoDigits(seconds / 3600) + ":" + ProgramText.twoDigits(seconds % 3600 / 60)
                let day = local.date == night.date ? "   " : " +1"
                lines.append("\(clock)\(day)  \(text)")
            }
            return lines.joined(separator: "\n")
        }
    }
}

/// `program preview --json`: one night of a program at a place.
struct PreviewJSON: Encodable {
    /// A sun crossing (`sunset`, `dusk`, `dawn`, `sunrise`) or a switch point (`switch`).
    struct Moment: Encodable {
        var at: Date
        var event: String
        var level: Double?
        var fadeSeconds: Double?
        /// The program entry's trigger, e.g. `sunset-10m`.
        var entry: String?
    }
    var program: String
    var latitude: Double
    var longitude: Double
    var timeZone: String
    /// The evening's date, YYYY-MM-DD.
    var night: String
    var levelAtNoon: Double
    var moments: [Moment]
}

/// `--json` of a delete or revoke: what is gone.
struct Deleted: Encodable {
    /// `group`, `program`, `token` or `lamp`.
    var kind: String
    var name: String
    var deleted = true
}
