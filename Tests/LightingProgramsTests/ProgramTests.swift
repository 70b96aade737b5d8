import Testing

@testable import LightingPrograms

@Suite("Lighting programs")
struct ProgramTests {
    static let amsterdam = Place(latitude: 52.3676, longitude: 4.9041, timeZone: try! PosixTimeZone("CET-1CEST,M3.5.0,M10.5.0/3"))
    static let tromso = Place(latitude: 69.6492, longitude: 18.9553, timeZone: try! PosixTimeZone("CET-1CEST,M3.5.0,M10.5.0/3"))

    static func program(_ text: String) throws -> LightingProgram { try ProgramText.parse(text) }

    /// Local "HH:MM" of an instant, to the nearest minute. (Expected solar times below are
    /// PyEphem's, independent of this code: see scripts/make-solar-reference.py.)
    static func clock(_ instant: Int64, _ place: Place = amsterdam) -> String {
        let seconds = (place.timeZone.local(instant + 30).secondsOfDay / 60) * 60
        return ProgramText.twoDigits(seconds / 3600) + ":" + ProgramText.twoDigits(seconds % 3600 / 60)
    }

    /// The night's switch points as "HH:MM level".
    static func night(_ text: String, _ date: CivilDate, _ place: Place = amsterdam) throws -> [String] {
        ProgramEvaluator(program: try program(text), place: place).night(of: date).points.map {
            clock($0.instant, place) + " " + ProgramText.level($0.level)
        }
    }

    static let november = CivilDate(year: 2026, month: 11, day: 20)!

    @Test("all night, evening only, morning only, evening and morning")
    func patterns() throws {
        // Amsterdam: sunset 20 November 2026 16:41:17, sunrise 21 November 08:11:52 (local).
        #expect(try Self.night("sunset 100%\nsunrise off", Self.november) == ["16:41 100%", "08:12 0%"])
        #expect(try Self.night("sunset 100%\n00:30 off", Self.november) == ["16:41 100%", "00:30 0%"])
        #expect(try Self.night("06:00 100%\nsunrise off", Self.november) == ["06:00 100%", "08:12 0%"])
        #expect(
            try Self.night("sunset 100%\n00:30 off\n06:00 100%\nsunrise off", Self.november)
                == ["16:41 100%", "00:30 0%", "06:00 100%", "08:12 0%"])
    }

    static let midnightDimming = """
        # full at dusk, 30 % from 23:00, off at dawn
        sunset-10m   100%   fade 10s
        23:00        30%    fade 10s
        sunrise+10m  off
        """

    @Test("midnight dimming: the level at any instant of the night")
    func midnightDimming() throws {
        let evaluator = ProgramEvaluator(program: try Self.program(Self.midnightDimming), place: Self.amsterdam)
        let night = evaluator.night(of: Self.november)
        #expect(night.points.map { Self.clock($0.instant) } == ["16:31", "23:00", "08:22"])
        let zone = Self.amsterdam.timeZone
        func level(_ date: CivilDate, _ hour: Int, _ minute: Int) -> UInt16 {
            evaluator.level(at: zone.unix(date, secondsOfDay: hour * 3600 + minute * 60)).level
        }
        let next = Self.november.adding(days: 1)
        #expect(level(Self.november, 12, 0) == 0)
        #expect(level(Self.november, 16, 30) == 0 && level(Self.november, 16, 32) == 1000)
        #expect(level(Self.november, 22, 59) == 1000 && level(Self.november, 23, 1) == 300)
        #expect(level(next, 3, 0) == 300 && level(next, 8, 21) == 300 && level(next, 8, 23) == 0)
        #expect(night.levelAtNoon == 0)
    }

    @Test("skip switching on when it would be off again within N minutes (a morning program in summer)")
    func skipShortOnPeriods() throws {
        // Amsterdam: sunset 20 June 22:06:07, sunrise 21 June 05:18:03. On at 05:00 would last 18 minutes.
        let june = CivilDate(year: 2026, month: 6, day: 20)!
        let text = "sunset 100%\n00:00 off\n05:00 100%\nsunrise off"
        #expect(try Self.night(text, june) == ["22:06 100%", "00:00 0%", "05:00 100%", "05:18 0%"])
        #expect(try Self.night("skip-shorter-than 20m\n" + text, june) == ["22:06 100%", "00:00 0%"])
        // In November the morning period is long enough to keep.
        #expect(try Self.night("skip-shorter-than 20m\n" + text, Self.november).count == 4)
    }

    @Test("a DST night: the clock goes back in the night and the 23:00 and 02:30 points follow local time")
    func daylightSavingNight() throws {
        let autumn = CivilDate(year: 2026, month: 10, day: 24)!
        let evaluator = ProgramEvaluator(program: try Self.program("sunset 100%\n23:00 30%\n02:30 10%\nsunrise off"), place: Self.amsterdam)
        let points = evaluator.night(of: autumn).points
        // Sunset 24 October 18:26:46 CEST, sunrise 25 October 07:23:23 CET.
        #expect(points.map { Self.clock($0.instant) } == ["18:27", "23:00", "02:30", "07:23"])
        // 23:00 CEST is 21:00 UTC; 02:30 (first, still CEST) is 00:30 UTC; sunrise after the change is CET.
        #expect(points[2].instant - points[1].instant == 3 * 3600 + 1800)
        let spring = CivilDate(year: 2026, month: 3, day: 28)!
        // 02:30 does not exist on 29 March: the switch happens at 03:30 CEST. Sunset 28 March
        // 19:07:27 CET, sunrise 29 March 07:22:07 CEST.
        #expect(try Self.night("sunset 100%\n02:30 10%\nsunrise off", spring) == ["19:07 100%", "03:30 10%", "07:22 0%"])
    }

    @Test("polar night keeps an all-night program on all day; midnight sun keeps it off")
    func polar() throws {
        let evaluator = ProgramEvaluator(program: try Self.program("sunset 100%\nsunrise off"), place: Self.tromso)
        let zone = Self.tromso.timeZone
        let december = CivilDate(year: 2026, month: 12, day: 21)!
        for hour in stride(from: 0, to: 24, by: 3) {
            #expect(evaluator.level(at: zone.unix(december, secondsOfDay: hour * 3600)).level == 1000, "December \(hour):00")
        }
        let june = CivilDate(year: 2026, month: 6, day: 21)!
        for hour in stride(from: 0, to: 24, by: 3) {
            #expect(evaluator.level(at: zone.unix(june, secondsOfDay: hour * 3600)).level == 0, "June \(hour):00")
        }
        let night = evaluator.night(of: december)
        #expect(night.sunset == .alwaysBelow && night.sunrise == .alwaysBelow)
    }

    @Test("days and seasons")
    func daysAndSeasons() throws {
        let program = try Self.program("sunset 100%\n23:00 off days mon-fri\n01:00 off days sat,sun\nsunrise off dates 04-01..09-30")
        // Friday 20 November: 23:00 applies, 01:00 on Saturday applies; sunrise entry is out of season.
        #expect(try Self.night(ProgramText.format(program), Self.november) == ["16:41 100%", "23:00 0%", "01:00 0%"])
        // Saturday: sunset 16:40:06; 23:00 is weekdays only, 01:00 on Sunday applies.
        let saturday = CivilDate(year: 2026, month: 11, day: 21)!
        #expect(try Self.night(ProgramText.format(program), saturday) == ["16:40 100%", "01:00 0%"])
    }

    @Test("the file format reads back what it writes; errors name the line and the field")
    func fileFormat() throws {
        let program = try Self.program(Self.midnightDimming + "\nskip-shorter-than 1h30m\n06:15 12.5% days weekdays dates 11-01..02-28")
        #expect(try ProgramText.parse(ProgramText.format(program)) == program)
        #expect(program.skipShorterThanMinutes == 90)
        #expect(program.entries.last == ProgramEntry(
            trigger: .time(minutes: 375), level: 125, days: Weekdays(rawValue: 0x1F),
            season: SeasonalRange(from: MonthDay(month: 11, day: 1)!, to: MonthDay(month: 2, day: 28)!)))
        let cases: [(String, Int, String)] = [
            ("sunset 100%\nnoon 50%", 2, "trigger"), ("sunset 101%", 1, "level"), ("sunset", 1, "level"),
            ("# c\n\nsunset 50% fade 30s", 3, "fade"), ("sunset 50% days funday", 1, "days"), ("sunset 50% dates 13-01..02-01", 1, "dates"),
            ("sunset 50% colour red", 1, "colour"), ("sunset+13h 50%", 1, "trigger"), ("24:00 on", 1, "trigger"), ("# nothing", 1, "trigger"),
        ]
        for (text, line, field) in cases {
            do {
                _ = try ProgramText.parse(text)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.line == line && error.field == field, "\(text): \(error)")
            }
        }
    }
}
