/// The human-writable program file: one switch point per line, `#` comments.
///
/// ```
/// # Midnight dimming: full at dusk, 30 % from 23:00, off at dawn.
/// skip-shorter-than 15m
/// sunset-10m    100%
/// 23:00         30%    fade 10s
/// sunrise+10m   off
/// ```
///
/// A line is `TRIGGER LEVEL [fade SECONDS] [days DAYS] [dates MM-DD..MM-DD]`:
/// - TRIGGER: `HH:MM` local time, or `sunset`, `sunrise`, `dusk`, `dawn` with an optional
///   offset such as `-10m`, `+1h`, `+1h30m` (at most 12 h);
/// - LEVEL: a percentage `0%` to `100%` in steps of 0.1, or `on` (100 %) or `off` (0 %);
/// - fade: 0 to 25.5 seconds, e.g. `fade 10s` or `fade 2.5`;
/// - days: `daily`, `weekdays`, `weekends`, or names and ranges such as `mon-fri` or
///   `sat,sun`;
/// - dates: a season, e.g. `04-01..09-30`, or over New Year `11-01..02-28`.
///
/// `skip-shorter-than DURATION` drops a switch-on that would be off again sooner.
public enum ProgramText {
    /// What is wrong with a program file, and where.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        /// 1-based line number.
        public let line: Int
        /// Which part of the line: trigger, level, fade, days, dates, skip-shorter-than.
        public let field: String
        /// What is wrong.
        public let message: String

        public var description: String { "line \(line), \(field): \(message)" }
    }

    /// Reads a program file.
    public static func parse(_ text: String) throws(ParseError) -> LightingProgram {
        var program = LightingProgram(entries: [])
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let first = words.first else { continue }
            func fail(_ field: String, _ message: String) -> ParseError {
                ParseError(line: lineNumber, field: field, message: message)
            }
            if first == "skip-shorter-than" {
                guard words.count == 2, let minutes = minutes(words[1]), minutes <= 720 else {
                    throw fail("skip-shorter-than", "expected a duration up to 12h, e.g. 15m")
                }
                program.skipShorterThanMinutes = minutes
                continue
            }
            guard let trigger = trigger(first) else {
                throw fail("trigger", "'\(first)' is not HH:MM or sunset, sunrise, dusk, dawn with an offset such as -10m")
            }
            guard words.count >= 2 else { throw fail("level", "missing: give a percentage, on or off") }
            guard let level = level(words[1]) else {
                throw fail("level", "'\(words[1])' is not 0% to 100% (steps of 0.1), on or off")
            }
            var entry = ProgramEntry(trigger: trigger, level: level)
            var index = 2
            while index < words.count {
                let keyword = words[index]
                guard index + 1 < words.count else { throw fail(keyword, "missing its value") }
                let value = words[index + 1]
                switch keyword {
                case "fade":
                    guard let tenths = tenths(value.hasSuffix("s") ? String(value.dropLast()) : value), tenths <= 255 else {
                        throw fail("fade", "'\(value)' is not 0 to 25.5 seconds")
                    }
                    entry.fadeDeciseconds = UInt8(tenths)
                case "days":
                    guard let days = weekdays(value) else {
                        throw fail("days", "'\(value)' is not daily, weekdays, weekends or days such as mon-fri or sat,sun")
                    }
                    entry.days = days
                case "dates":
                    guard let season = season(value) else { throw fail("dates", "'\(value)' is not MM-DD..MM-DD") }
                    entry.season = season
                default:
                    throw fail(keyword, "unknown: after the level come fade, days and dates")
                }
                index += 2
            }
            program.entries.append(entry)
            guard program.entries.count <= LightingProgram.maximumEntries else {
                throw fail("trigger", "a program has at most \(LightingProgram.maximumEntries) entries")
            }
        }
        guard !program.entries.isEmpty else {
            throw ParseError(line: lineNumber, field: "trigger", message: "the program has no entries")
        }
        return program
    }

    /// The file text of a program (what `parse` reads back to the same program).
    public static func format(_ program: LightingProgram) -> String {
        var lines: [String] = []
        if program.skipShorterThanMinutes > 0 {
            lines.append("skip-shorter-than \(duration(program.skipShorterThanMinutes))")
        }
        for entry in program.entries {
            var line = pad(trigger(entry.trigger), 14) + pad(level(entry.level), 7)
            if entry.fadeDeciseconds > 0 { line += "fade " + decimal(Int(entry.fadeDeciseconds)) + "s " }
            if entry.days != .all { line += "days " + weekdays(entry.days) + " " }
            if let season = entry.season { line += "dates " + monthDay(season.from) + ".." + monthDay(season.to) }
            while line.hasSuffix(" ") { line.removeLast() }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Reading parts

    static func trigger(_ word: String) -> Trigger? {
        if let colon = word.firstIndex(of: ":") {
            guard let hours = integer(word[..<colon]), let minutes = integer(word[word.index(after: colon)...]),
                hours < 24, minutes < 60, word[word.index(after: colon)...].count == 2
            else { return nil }
            return .time(minutes: hours * 60 + minutes)
        }
        for name in ["sunset", "sunrise", "dusk", "dawn"] where word.hasPrefix(name) {
            let rest = word.dropFirst(name.count)
            var offset = 0
            if !rest.isEmpty {
                guard let sign = rest.first, sign == "+" || sign == "-", let value = minutes(String(rest.dropFirst())), value <= 720
                else { return nil }
                offset = sign == "-" ? -value : value
            }
            switch name {
            case "sunset": return .sunset(offset: offset)
            case "sunrise": return .sunrise(offset: offset)
            case "dusk": return .dusk(offset: offset)
            default: return .dawn(offset: offset)
            }
        }
        return nil
    }

    static func level(_ word: String) -> UInt16? {
        switch word {
        case "on": return 1000
        case "off": return 0
        default:
            guard word.hasSuffix("%"), let tenths = tenths(String(word.dropLast())), tenths <= 1000 else { return nil }
            return UInt16(tenths)
        }
    }

    /// "90", "90m", "2h", "1h30m" as minutes.
    static func minutes(_ text: String) -> Int? {
        if let plain = integer(Substring(text)) { return plain }
        var total = 0
        var digits = ""
        for character in text {
            if character >= "0" && character <= "9" {
                digits.append(character)
                continue
            }
            guard let value = integer(Substring(digits)) else { return nil }
            switch character {
            case "h": total += value * 60
            case "m": total += value
            default: return nil
            }
            digits = ""
        }
        return digits.isEmpty ? total : nil
    }

    /// "12", "12.5" as tenths (at most one decimal).
    static func tenths(_ text: String) -> Int? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = integer(parts[0]) else { return nil }
        guard parts.count == 2 else { return whole * 10 }
        guard parts[1].count == 1, let fraction = integer(parts[1]) else { return nil }
        return whole * 10 + fraction
    }

    static func integer(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 6 else { return nil }
        var value = 0
        for character in text {
            guard let digit = character.wholeNumberValue, character.isASCII else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    static let dayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    static func weekdays(_ text: String) -> Weekdays? {
        switch text {
        case "daily": return .all
        case "weekdays": return Weekdays(rawValue: 0x1F)
        case "weekends": return [.saturday, .sunday]
        default: break
        }
        var days = Weekdays()
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-").map(String.init)
            guard (1...2).contains(bounds.count), let from = dayNames.firstIndex(of: bounds[0]),
                let to = dayNames.firstIndex(of: bounds[bounds.count - 1])
            else { return nil }
            var day = from
            while true {
                days.insert(Weekdays(rawValue: 1 << UInt8(day)))
                if day == to { break }
                day = (day + 1) % 7
            }
        }
        return days.isEmpty ? nil : days
    }

    static func season(_ text: String) -> SeasonalRange? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].isEmpty, let from = monthDay(parts[0]), let to = monthDay(parts[2]) else { return nil }
        return SeasonalRange(from: from, to: to)
    }

    static func monthDay(_ text: Substring) -> MonthDay? {
        let parts = text.split(separator: "-")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let month = integer(parts[0]), let day = integer(parts[1])
        else { return nil }
        return MonthDay(month: month, day: day)
    }

    // MARK: Writing parts

    /// A trigger as the file writes it, e.g. `sunset-10m` or `23:00`.
    public static func trigger(_ trigger: Trigger) -> String {
        func solar(_ name: String, _ offset: Int) -> String {
            offset == 0 ? name : name + (offset < 0 ? "-" : "+") + duration(offset < 0 ? -offset : offset)
        }
        switch trigger {
        case .time(let minutes): return twoDigits(minutes / 60) + ":" + twoDigits(minutes % 60)
        case .sunset(let offset): return solar("sunset", offset)
        case .sunrise(let offset): return solar("sunrise", offset)
        case .dusk(let offset): return solar("dusk", offset)
        case .dawn(let offset): return solar("dawn", offset)
        }
    }

    /// A level as the file writes it, e.g. `30%`.
    public static func level(_ level: UInt16) -> String {
        level == 1000 ? "100%" : decimal(Int(level)) + "%"
    }

    /// What a switch point does to the light, for people: `switch on at 100%`, `dim to 30%`,
    /// `raise to 80%`, `switch off` or `stay at 30%` (levels per mille).
    public static func change(from previous: UInt16, to next: UInt16) -> String {
        if next == previous { return "stay at " + level(next) }
        if previous == 0 { return "switch on at " + level(next) }
        if next == 0 { return "switch off" }
        return (next < previous ? "dim to " : "raise to ") + level(next)
    }

    static func weekdays(_ days: Weekdays) -> String {
        if days.rawValue == 0x1F { return "weekdays" }
        if days == [.saturday, .sunday] { return "weekends" }
        return (0..<7).filter { days.rawValue & (1 << UInt8($0)) != 0 }.map { dayNames[$0] }.joined(separator: ",")
    }

    static func monthDay(_ day: MonthDay) -> String {
        twoDigits(day.month) + "-" + twoDigits(day.day)
    }

    /// Minutes as "90m", "2h", "1h30m".
    static func duration(_ minutes: Int) -> String {
        if minutes >= 60 && minutes % 60 == 0 { return "\(minutes / 60)h" }
        if minutes > 60 { return "\(minutes / 60)h\(minutes % 60)m" }
        return "\(minutes)m"
    }

    /// Tenths as "12.5" or "30".
    public static func decimal(_ tenths: Int) -> String {
        tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(tenths % 10)"
    }

    /// 7 as "07".
    public static func twoDigits(_ value: Int) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        var out = text
        while out.count < width - 1 { out += " " }
        return out + " "
    }
}
