/// Local time without a time-zone database: a POSIX TZ rule (IEEE 1003.1 §8.3), such as
/// `CET-1CEST,M3.5.0,M10.5.0/3` (Central Europe) or `AEST-10AEDT,M10.1.0,M4.1.0/3` (Sydney).
///
/// The controller sends the rule; the lamp computes its local time from UTC with it, every
/// year, with no updates (a rule holds until the law changes, when the controller sends a new
/// one). The same text ends every TZif file of the IANA database, which is where the
/// controller gets it. Offsets in the text are west-positive, as POSIX has them; this type's
/// offsets are east-positive (local = UTC + offset).
public struct PosixTimeZone: Hashable, Sendable {
    /// A transition rule: which day, and the local time of day (seconds, may be negative or
    /// past 24 h, as RFC 8536 allows).
    public enum Day: Hashable, Sendable {
        /// Mm.w.d: day `weekday` (0 Sunday) of week `week` (1-5, 5 the last) of `month`.
        case monthWeekDay(month: Int, week: Int, weekday: Int)
        /// Jn: day 1-365, never counting 29 February.
        case julianNoLeap(Int)
        /// n: day 0-365, counting 29 February.
        case zeroBased(Int)
    }

    /// A daylight-saving rule.
    public struct Rule: Hashable, Sendable {
        public var start: Day
        public var startSeconds: Int
        public var end: Day
        public var endSeconds: Int
    }

    /// The text it was read from.
    public let text: String
    /// Standard time's abbreviation, e.g. CET.
    public let standardName: String
    /// Standard time's offset from UTC, seconds, east positive.
    public let standardOffset: Int
    /// Daylight time's abbreviation, offset and rule; nil where there is none.
    public let daylightName: String?
    public let daylightOffset: Int
    public let rule: Rule?

    /// Why a rule could not be read.
    public struct ParseError: Error, Hashable, Sendable {
        /// What is wrong, in words.
        public let message: String
        /// Byte offset in the text.
        public let offset: Int
    }

    /// UTC.
    public static let utc = PosixTimeZone(checked: "UTC0")

    private init(checked text: String) {
        // Only for literals known to parse.
        do {
            self = try Self.parse(text)
        } catch {
            fatalError("invalid built-in time zone")
        }
    }

    /// Reads a rule; throws saying what and where.
    public init(_ text: String) throws(ParseError) {
        self = try Self.parse(text)
    }

    /// The rule at the end of a TZif file of version 2 or later (RFC 8536 §3.3): the IANA
    /// database's own statement of the zone's current rule. The caller reads the file.
    public init(tzif bytes: [UInt8]) throws(ParseError) {
        guard bytes.count > 2, bytes.starts(with: [0x54, 0x5A, 0x69, 0x66]), bytes.last == 0x0A,
            let start = bytes.dropLast().lastIndex(of: 0x0A)
        else {
            throw ParseError(message: "not a TZif file with a POSIX rule footer (version 2 or later)", offset: 0)
        }
        try self.init(String(decoding: bytes[(start + 1)..<(bytes.count - 1)], as: UTF8.self))
    }

    /// Where the IANA database lives on Linux.
    public static let databaseDirectory = "/usr/share/zoneinfo"

    /// What an operator writes as a zone: a POSIX rule as it is, or an IANA name such as
    /// `Europe/Amsterdam`, whose rule is the footer of its TZif file. `readFile` is the
    /// caller's I/O (this module does none): a file's bytes, or nil if there is none.
    public static func resolve(_ text: String, readFile: (String) -> [UInt8]?) throws(ParseError) -> PosixTimeZone {
        let notARule: ParseError
        do {
            return try PosixTimeZone(text)
        } catch {
            notARule = error
        }
        let utf8 = Array(text.utf8)
        let climbsOut = utf8.indices.dropLast().contains { utf8[$0] == 0x2E && utf8[$0 + 1] == 0x2E }
        guard !climbsOut, let bytes = readFile(databaseDirectory + "/" + text) else {
            throw ParseError(
                message: "'" + text + "' is neither an IANA zone such as Europe/Amsterdam nor a POSIX rule (" + notARule.message + ")",
                offset: notARule.offset)
        }
        do {
            return try PosixTimeZone(tzif: bytes)
        } catch {
            throw ParseError(message: text + ": " + error.message, offset: error.offset)
        }
    }

    /// The system's own zone (the footer of /etc/localtime), or UTC.
    public static func system(readFile: (String) -> [UInt8]?) -> PosixTimeZone {
        readFile("/etc/localtime").flatMap { try? PosixTimeZone(tzif: $0) } ?? .utc
    }

    private init(text: String, standardName: String, standardOffset: Int, daylightName: String?, daylightOffset: Int, rule: Rule?) {
        self.text = text
        self.standardName = standardName
        self.standardOffset = standardOffset
        self.daylightName = daylightName
        self.daylightOffset = daylightOffset
        self.rule = rule
    }

    static func parse(_ text: String) throws(ParseError) -> PosixTimeZone {
        var reader = Reader(bytes: Array(text.utf8))
        guard reader.bytes.count <= 63 else { throw ParseError(message: "longer than 63 bytes", offset: 63) }
        let standardName = try reader.name()
        let standardOffset = -(try reader.time(signed: true, field: "standard offset"))
        guard !reader.atEnd else {
            return PosixTimeZone(
                text: text, standardName: standardName, standardOffset: standardOffset, daylightName: nil,
                daylightOffset: standardOffset, rule: nil)
        }
        let daylightName = try reader.name()
        var daylightOffset = standardOffset + 3600
        if !reader.atEnd && reader.peek != UInt8(ascii: ",") {
            daylightOffset = -(try reader.time(signed: true, field: "daylight offset"))
        }
        guard reader.take(UInt8(ascii: ",")) else {
            throw ParseError(message: "a daylight-saving time needs its rule: ,START[/TIME],END[/TIME]", offset: reader.index)
        }
        let start = try reader.day()
        let startSeconds = reader.take(UInt8(ascii: "/")) ? try reader.time(signed: true, field: "start time") : 7200
        guard reader.take(UInt8(ascii: ",")) else { throw ParseError(message: "expected ,END after the start", offset: reader.index) }
        let end = try reader.day()
        let endSeconds = reader.take(UInt8(ascii: "/")) ? try reader.time(signed: true, field: "end time") : 7200
        guard reader.atEnd else { throw ParseError(message: "unexpected text after the rule", offset: reader.index) }
        return PosixTimeZone(
            text: text, standardName: standardName, standardOffset: standardOffset, daylightName: daylightName,
            daylightOffset: daylightOffset, rule: Rule(start: start, startSeconds: startSeconds, end: end, endSeconds: endSeconds))
    }

    struct Reader {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8 { bytes[index] }

        mutating func take(_ byte: UInt8) -> Bool {
            guard !atEnd, peek == byte else { return false }
            index += 1
            return true
        }

        /// `ABC` (3+ letters) or `<+03>` (3+ of letters, digits, + and -).
        mutating func name() throws(ParseError) -> String {
            let start = index
            if take(UInt8(ascii: "<")) {
                while !atEnd && peek != UInt8(ascii: ">") { index += 1 }
                guard take(UInt8(ascii: ">")), index - start - 2 >= 3 else {
                    throw ParseError(message: "a quoted name is <3 or more characters>", offset: start)
                }
                return String(decoding: bytes[(start + 1)..<(index - 1)], as: UTF8.self)
            }
            while !atEnd && ((peek >= 65 && peek <= 90) || (peek >= 97 && peek <= 122)) { index += 1 }
            guard index - start >= 3 else { throw ParseError(message: "a zone name is 3 or more letters", offset: start) }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func number(max: Int, field: StaticString) throws(ParseError) -> Int {
            let start = index
            var value = 0
            while !atEnd && peek >= 48 && peek <= 57 {
                value = value * 10 + Int(peek - 48)
                index += 1
                guard value <= max else { throw ParseError(message: "a number is out of range", offset: start) }
            }
            guard index > start else { throw ParseError(message: "expected a number", offset: start) }
            return value
        }

        /// [+-]hh[:mm[:ss]], seconds.
        mutating func time(signed: Bool, field: StaticString) throws(ParseError) -> Int {
            var sign = 1
            if signed {
                if take(UInt8(ascii: "-")) { sign = -1 } else { _ = take(UInt8(ascii: "+")) }
            }
            var seconds = try number(max: 167, field: field) * 3600
            if take(UInt8(ascii: ":")) { seconds += try number(max: 59, field: field) * 60 }
            if take(UInt8(ascii: ":")) { seconds += try number(max: 59, field: field) }
            return sign * seconds
        }

        mutating func day() throws(ParseError) -> Day {
            let start = index
            if take(UInt8(ascii: "M")) {
                let month = try number(max: 12, field: "month")
                guard take(UInt8(ascii: ".")) else { throw ParseError(message: "expected Mm.w.d", offset: start) }
                let week = try number(max: 5, field: "week")
                guard take(UInt8(ascii: ".")) else { throw ParseError(message: "expected Mm.w.d", offset: start) }
                let weekday = try number(max: 6, field: "weekday")
                guard month >= 1, week >= 1 else { throw ParseError(message: "month is 1-12 and week 1-5", offset: start) }
                return .monthWeekDay(month: month, week: week, weekday: weekday)
            }
            if take(UInt8(ascii: "J")) {
                let day = try number(max: 365, field: "day")
                guard day >= 1 else { throw ParseError(message: "Jn is 1-365", offset: start) }
                return .julianNoLeap(day)
            }
            return .zeroBased(try number(max: 365, field: "day"))
        }
    }

    // MARK: Conversions

    /// The offset from UTC at an instant, seconds, east positive.
    public func offset(atUnix seconds: Int64) -> Int {
        isDaylightSaving(atUnix: seconds) ? daylightOffset : standardOffset
    }

    /// Whether daylight-saving time is in effect at an instant.
    public func isDaylightSaving(atUnix seconds: Int64) -> Bool {
        guard let rule else { return false }
        let year = CivilDate(daysSinceEpoch: Int(Self.floorDivide(seconds + Int64(standardOffset), 86_400))).year
        let start = Int64(Self.date(rule.start, year: year).daysSinceEpoch) * 86_400 + Int64(rule.startSeconds) - Int64(standardOffset)
        let end = Int64(Self.date(rule.end, year: year).daysSinceEpoch) * 86_400 + Int64(rule.endSeconds) - Int64(daylightOffset)
        return start < end ? (seconds >= start && seconds < end) : !(seconds >= end && seconds < start)
    }

    /// Local date and seconds since local midnight at an instant.
    public func local(_ seconds: Int64) -> (date: CivilDate, secondsOfDay: Int) {
        let local = seconds + Int64(offset(atUnix: seconds))
        let days = Self.floorDivide(local, 86_400)
        return (CivilDate(daysSinceEpoch: Int(days)), Int(local - days * 86_400))
    }

    /// The instant of a local date and time. A time that happens twice (clocks go back) is
    /// the first; a time that does not happen (clocks go forward) is moved forward by the gap.
    public func unix(_ date: CivilDate, secondsOfDay: Int) -> Int64 {
        let local = Int64(date.daysSinceEpoch) * 86_400 + Int64(secondsOfDay)
        let asStandard = local - Int64(standardOffset)
        let asDaylight = local - Int64(daylightOffset)
        let standardValid = offset(atUnix: asStandard) == standardOffset
        let daylightValid = offset(atUnix: asDaylight) == daylightOffset
        switch (standardValid, daylightValid) {
        case (true, true): return min(asStandard, asDaylight)
        case (true, false): return asStandard
        case (false, true): return asDaylight
        case (false, false): return max(asStandard, asDaylight)
        }
    }

    static func date(_ day: Day, year: Int) -> CivilDate {
        switch day {
        case .monthWeekDay(let month, let week, let weekday):
            // The initializer cannot fail for day 1.
            let first = CivilDate(year: year, month: month, day: 1) ?? CivilDate(daysSinceEpoch: 0)
            let firstWeekday = first.weekday % 7  // 0 Sunday
            var day = 1 + (weekday - firstWeekday + 7) % 7 + (week - 1) * 7
            let length = CivilDate.daysIn(month: month, year: year)
            while day > length { day -= 7 }
            return first.adding(days: day - 1)
        case .julianNoLeap(let n):
            let jan1 = CivilDate(year: year, month: 1, day: 1) ?? CivilDate(daysSinceEpoch: 0)
            let skipLeapDay = CivilDate.isLeap(year) && n >= 60 ? 1 : 0
            return jan1.adding(days: n - 1 + skipLeapDay)
        case .zeroBased(let n):
            let jan1 = CivilDate(year: year, month: 1, day: 1) ?? CivilDate(daysSinceEpoch: 0)
            return jan1.adding(days: n)
        }
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
