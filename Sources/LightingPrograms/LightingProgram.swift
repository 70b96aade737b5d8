/// Days of the week an entry applies on.
public struct Weekdays: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let monday = Weekdays(rawValue: 1 << 0)
    public static let tuesday = Weekdays(rawValue: 1 << 1)
    public static let wednesday = Weekdays(rawValue: 1 << 2)
    public static let thursday = Weekdays(rawValue: 1 << 3)
    public static let friday = Weekdays(rawValue: 1 << 4)
    public static let saturday = Weekdays(rawValue: 1 << 5)
    public static let sunday = Weekdays(rawValue: 1 << 6)
    /// Every day.
    public static let all = Weekdays(rawValue: 0x7F)

    /// Whether it includes the ISO weekday (1 Monday ... 7 Sunday).
    public func contains(isoWeekday: Int) -> Bool {
        rawValue & (1 << UInt8(isoWeekday - 1)) != 0
    }
}

/// A day of the year without a year, for seasonal date ranges.
public struct MonthDay: Hashable, Sendable, Comparable {
    /// 1 to 12.
    public var month: Int
    /// 1 to 31 (29 February is allowed).
    public var day: Int

    /// A month and day; nil if no year has it.
    public init?(month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= CivilDate.daysIn(month: month, year: 2000) else { return nil }
        self.month = month
        self.day = day
    }

    public static func < (lhs: MonthDay, rhs: MonthDay) -> Bool {
        (lhs.month, lhs.day) < (rhs.month, rhs.day)
    }
}

/// From one day of the year to another, both included; wraps over New Year when `from` is
/// after `to` (e.g. 11-01..02-28).
public struct SeasonalRange: Hashable, Sendable {
    public var from: MonthDay
    public var to: MonthDay

    public init(from: MonthDay, to: MonthDay) {
        self.from = from
        self.to = to
    }

    /// Whether the date falls in it.
    public func contains(_ date: CivilDate) -> Bool {
        guard let day = MonthDay(month: date.month, day: date.day) else { return false }
        return from <= to ? (from <= day && day <= to) : (day >= from || day <= to)
    }
}

/// What makes an entry switch: a fixed local time, or a solar event with an offset.
public enum Trigger: Hashable, Sendable {
    /// Minutes after local midnight, 0 to 1439.
    case time(minutes: Int)
    /// Sunset plus `offset` minutes (negative: before), -720 to 720.
    case sunset(offset: Int)
    /// Sunrise plus `offset` minutes.
    case sunrise(offset: Int)
    /// Civil dusk (sun 6° below the horizon) plus `offset` minutes.
    case dusk(offset: Int)
    /// Civil dawn plus `offset` minutes.
    case dawn(offset: Int)
}

/// One switch point: at the trigger, on the days and dates it applies, the light goes to
/// `level` over `fade`.
public struct ProgramEntry: Hashable, Sendable {
    public var trigger: Trigger
    /// Per mille of full light, 0 to 1000 (the protocol's scale).
    public var level: UInt16
    /// Fade, deciseconds, 0 to 255.
    public var fadeDeciseconds: UInt8
    public var days: Weekdays
    /// Only between these dates; nil: all year.
    public var season: SeasonalRange?

    public init(trigger: Trigger, level: UInt16, fadeDeciseconds: UInt8 = 0, days: Weekdays = .all, season: SeasonalRange? = nil) {
        self.trigger = trigger
        self.level = level
        self.fadeDeciseconds = fadeDeciseconds
        self.days = days
        self.season = season
    }
}

/// A lighting program: switch points, and the rule that suppresses a switch-on that would be
/// switched off again within `skipShorterThanMinutes` (e.g. a morning-only program in
/// summer, when dawn comes before the switch-on time).
public struct LightingProgram: Hashable, Sendable {
    /// The most entries a program may have (four protocol pages).
    public static let maximumEntries = 64

    public var entries: [ProgramEntry]
    /// 0: never skip.
    public var skipShorterThanMinutes: Int

    public init(entries: [ProgramEntry], skipShorterThanMinutes: Int = 0) {
        self.entries = entries
        self.skipShorterThanMinutes = skipShorterThanMinutes
    }
}

/// Where a lamp is: its position for the sun, its time-zone rule for the clock.
public struct Place: Hashable, Sendable {
    /// Degrees, north positive.
    public var latitude: Double
    /// Degrees, east positive.
    public var longitude: Double
    public var timeZone: PosixTimeZone

    public init(latitude: Double, longitude: Double, timeZone: PosixTimeZone) {
        self.latitude = latitude
        self.longitude = longitude
        self.timeZone = timeZone
    }
}
