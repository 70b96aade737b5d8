import Foundation

/// A lighting program as the API shows it (`GET /api/v1/programs/NAME`).
public struct ProgramView: Codable, Sendable, Equatable {
    /// Its name.
    public var name: String
    /// The revision its lamps were last given.
    public var revision: UInt32
    /// The program file (see the README's "Lighting programs").
    public var source: String
    /// How many entries.
    public var entries: Int
    /// Lamps it is assigned to.
    public var lamps: Int
    /// The fleet's time-zone rule the lamps run it with.
    public var timeZone: String
    /// When and by whom it was last changed.
    public var updatedAt: Date
    public var updatedBy: String

    public init(
        name: String, revision: UInt32, source: String, entries: Int, lamps: Int, timeZone: String, updatedAt: Date, updatedBy: String
    ) {
        self.name = name
        self.revision = revision
        self.source = source
        self.entries = entries
        self.lamps = lamps
        self.timeZone = timeZone
        self.updatedAt = updatedAt
        self.updatedBy = updatedBy
    }
}

/// A program's file text (`PUT /api/v1/programs/NAME`).
public struct ProgramSave: Codable, Sendable, Equatable {
    public var source: String

    public init(source: String) {
        self.source = source
    }
}

/// Which lamps run a program (`POST /api/v1/programs/NAME/assign`).
public struct ProgramAssign: Codable, Sendable, Equatable {
    /// `lamp:ID`, `group:NAME` or `all`.
    public var target: String

    public init(target: String) {
        self.target = target
    }
}

/// The answer to an assignment: durable, and being sent.
public struct ProgramAssigned: Codable, Sendable, Equatable {
    public var program: String
    /// The program revision the lamps get.
    public var revision: UInt32
    public var target: String
    public var lamps: Int
    /// Of the target's lamps, how many hold a level, on, off or an override from a command:
    /// they follow the program only after `resume` (an override when it ends).
    public var heldByCommand: Int?

    public init(program: String, revision: UInt32, target: String, lamps: Int, heldByCommand: Int? = nil) {
        self.program = program
        self.revision = revision
        self.target = target
        self.lamps = lamps
        self.heldByCommand = heldByCommand
    }
}

/// One night of a lighting program at a place, from local noon to the next local noon
/// (`GET /api/v1/programs/NAME/preview`), computed by the daemon as its lamps run it.
public struct ProgramPreview: Codable, Sendable, Equatable {
    /// The program's name.
    public var program: String
    /// The revision previewed.
    public var revision: UInt32
    /// The evening's local date, YYYY-MM-DD.
    public var date: String
    /// Where, decimal degrees.
    public var latitude: Double
    /// Where, decimal degrees.
    public var longitude: Double
    /// The fleet's time-zone rule (POSIX) the night is computed with.
    public var timeZone: String
    /// The local noon that starts the night.
    public var start: Date
    /// The local noon that ends it.
    public var end: Date
    /// The level at the start, percent.
    public var levelAtStart: Double
    /// Sunset, civil dusk, then the next morning's civil dawn and sunrise, those that happen.
    public var sun: [ProgramSunEvent]
    /// `polar night` or `midnight sun` when the sun does not set or rise that night.
    public var polar: String?
    /// The night's switch points, in order.
    public var points: [ProgramSwitchPoint]
    /// Lamps the program is assigned to.
    public var lamps: Int

    /// A preview.
    public init(
        program: String, revision: UInt32, date: String, latitude: Double, longitude: Double, timeZone: String, start: Date, end: Date,
        levelAtStart: Double, sun: [ProgramSunEvent], polar: String?, points: [ProgramSwitchPoint], lamps: Int
    ) {
        self.program = program
        self.revision = revision
        self.date = date
        self.latitude = latitude
        self.longitude = longitude
        self.timeZone = timeZone
        self.start = start
        self.end = end
        self.levelAtStart = levelAtStart
        self.sun = sun
        self.polar = polar
        self.points = points
        self.lamps = lamps
    }
}

/// A sunset, dusk, dawn or sunrise in a ``ProgramPreview``.
public struct ProgramSunEvent: Codable, Sendable, Equatable {
    /// `sunset`, `civil dusk`, `civil dawn` or `sunrise`.
    public var event: String
    /// When.
    public var at: Date
    /// Local clock time, `HH:MM`, with ` +1` on the next day.
    public var localTime: String

    /// A sun event.
    public init(event: String, at: Date, localTime: String) {
        self.event = event
        self.at = at
        self.localTime = localTime
    }
}

/// One switch point of a ``ProgramPreview``.
public struct ProgramSwitchPoint: Codable, Sendable, Equatable {
    /// When.
    public var at: Date
    /// Local clock time, `HH:MM`, with ` +1` on the next day.
    public var localTime: String
    /// The level from then on, percent.
    public var level: Double
    /// Fade, seconds.
    public var fadeSeconds: Double
    /// The program line's trigger, e.g. `sunset-10m` or `23:00`.
    public var trigger: String
    /// What happens, for people: `switch on at 100%`, `dim to 30%`, `switch off`...
    public var change: String

    /// A switch point.
    public init(at: Date, localTime: String, level: Double, fadeSeconds: Double, trigger: String, change: String) {
        self.at = at
        self.localTime = localTime
        self.level = level
        self.fadeSeconds = fadeSeconds
        self.trigger = trigger
        self.change = change
    }
}

/// A program's year ahead at a place (`GET /api/v1/programs/NAME/forecast`): per month, the
/// hours lit and the energy, from the solar calculator. Power is taken as proportional to
/// level: a step at 30 % uses 30 % of the wattage.
public struct ProgramForecast: Codable, Sendable, Equatable {
    /// The program's name.
    public var program: String
    /// The year.
    public var year: Int
    /// Where, decimal degrees.
    public var latitude: Double
    public var longitude: Double
    /// The time-zone rule (POSIX) the nights are computed with.
    public var timeZone: String
    /// The watts the energy is for: as asked, or the registered wattages of the lamps the
    /// program is assigned to, summed.
    public var wattage: Double
    /// Lamps the program is assigned to.
    public var lamps: Int
    /// January to December; a night counts in the month of its evening.
    public var months: [ForecastMonth]
    /// The year.
    public var total: ForecastMonth

    public init(
        program: String, year: Int, latitude: Double, longitude: Double, timeZone: String, wattage: Double, lamps: Int,
        months: [ForecastMonth], total: ForecastMonth
    ) {
        self.program = program
        self.year = year
        self.latitude = latitude
        self.longitude = longitude
        self.timeZone = timeZone
        self.wattage = wattage
        self.lamps = lamps
        self.months = months
        self.total = total
    }
}

/// One month of a forecast (month 0: the whole year).
public struct ForecastMonth: Codable, Sendable, Equatable {
    /// 1 to 12; 0 for the year's total.
    public var month: Int
    /// Hours lit (level above 0).
    public var litHours: Double
    /// Energy at the program's levels, kWh.
    public var energyKWh: Double
    /// Energy at full power for the same hours, kWh.
    public var fullPowerKWh: Double

    public init(month: Int, litHours: Double, energyKWh: Double, fullPowerKWh: Double) {
        self.month = month
        self.litHours = litHours
        self.energyKWh = energyKWh
        self.fullPowerKWh = fullPowerKWh
    }
}
