import LampProtocol

/// One lamp's energy in one UTC hour (hour = Unix ms / 3,600,000).
public struct EnergyHour: Sendable, Equatable {
    /// The lamp.
    public var lampID: LampID
    /// The UTC hour, Unix ms / 3,600,000.
    public var hour: Int32
    /// Energy the lamp's counter says it used, Wh.
    public var usedWh: Double
    /// The same lit time at the lamp's full (registered) wattage, Wh: what it would have used
    /// undimmed. Savings are `fullPowerWh - usedWh`.
    public var fullPowerWh: Double
    /// Seconds lit (from the burn-time counter).
    public var litSeconds: Double

    /// A bucket.
    public init(lampID: LampID, hour: Int32, usedWh: Double, fullPowerWh: Double, litSeconds: Double) {
        self.lampID = lampID
        self.hour = hour
        self.usedWh = usedWh
        self.fullPowerWh = fullPowerWh
        self.litSeconds = litSeconds
    }
}

/// A lamp's counters at one report, as the controller saw them.
public struct EnergyReading: Sendable, Equatable {
    /// When the report arrived, Unix ms (the controller's clock).
    public var atMilliseconds: UInt64
    /// The lamp's energy counter, Wh since manufacture.
    public var energyWattHours: UInt32
    /// The lamp's burn-time counter, seconds since manufacture.
    public var burnSeconds: UInt32

    /// A reading.
    public init(atMilliseconds: UInt64, energyWattHours: UInt32, burnSeconds: UInt32) {
        self.atMilliseconds = atMilliseconds
        self.energyWattHours = energyWattHours
        self.burnSeconds = burnSeconds
    }
}

/// Turns two consecutive readings of a lamp's counters into hourly energy. Pure arithmetic:
/// no I/O, no allocation (the buckets go to a closure).
///
/// - The counter delta between two reports is attributed to the UTC hours between their
///   arrival times in proportion to the time in each hour: a lamp that was offline for three
///   hours gets its energy spread over those hours, and never more than its counter says.
/// - A counter that went backwards (a reboot or replacement reset it) starts a new baseline:
///   nothing is counted for that interval (the energy used between the reset and the report
///   is not known to be that interval's alone, so it is left out rather than guessed).
/// - Full-power energy is lit seconds × `wattage` / 3600; a lamp with no registered wattage
///   counts its used energy as full power (no savings are claimed for it).
public enum EnergyMeter {
    /// Milliseconds in an hour bucket.
    public static let millisecondsPerHour: UInt64 = 3_600_000

    /// The hour bucket of a Unix ms time.
    public static func hour(_ milliseconds: UInt64) -> Int32 {
        Int32(clamping: milliseconds / millisecondsPerHour)
    }

    /// The first hour bucket that starts at or after a Unix ms time: the exclusive end of a
    /// range of hours that ends at that time (an end inside an hour includes that hour).
    public static func hourEnding(_ milliseconds: UInt64) -> Int32 {
        let (whole, part) = milliseconds.quotientAndRemainder(dividingBy: millisecondsPerHour)
        return Int32(clamping: whole + (part > 0 ? 1 : 0))
    }

    /// Calls `bucket(hour, usedWh, fullPowerWh, litSeconds)` for each hour the interval from
    /// `previous` to `current` covers, in order; nothing for a counter reset.
    public static func spread(
        from previous: EnergyReading, to current: EnergyReading, wattage: Double?,
        _ bucket: (_ hour: Int32, _ usedWh: Double, _ fullPowerWh: Double, _ litSeconds: Double) -> Void
    ) {
        guard current.energyWattHours >= previous.energyWattHours, current.burnSeconds >= previous.burnSeconds else { return }
        let used = Double(current.energyWattHours - previous.energyWattHours)
        let lit = Double(current.burnSeconds - previous.burnSeconds)
        guard used > 0 || lit > 0 else { return }
        let full = wattage.map { lit * $0 / 3600 } ?? used
        let start = previous.atMilliseconds
        let end = current.atMilliseconds
        guard end > start else {
            // No time between them (or the controller's clock went back): all in this hour.
            bucket(hour(end), used, full, lit)
            return
        }
        let span = Double(end - start)
        var from = start
        while from < end {
            let hourEnd = (from / millisecondsPerHour + 1) * millisecondsPerHour
            let to = min(hourEnd, end)
            let share = Double(to - from) / span
            bucket(hour(from), used * share, full * share, lit * share)
            from = to
        }
    }
}

/// Energy given up because it could not be written and more than the bound waited.
public struct DroppedEnergy: Sendable, Equatable {
    /// Lamp-hours dropped.
    public var lampHours = 0
    /// The energy they held, Wh.
    public var usedWh = 0.0

    /// Nothing dropped.
    public init() {}
}

/// A lamp's energy in the hour under way, not yet handed to the store (kept inline in its
/// ``LampEntry``: no allocation per report).
public struct OpenEnergyHour: Sendable, Equatable {
    /// The hour it is for; -1 when empty.
    public var hour: Int32 = -1
    public var usedWh = 0.0
    public var fullPowerWh = 0.0
    public var litSeconds = 0.0

    /// Whether it holds anything.
    public var isEmpty: Bool { hour < 0 }

    /// An empty bucket.
    public init() {}
}

/// How energy is summed over time: per UTC hour, day or calendar month.
public enum EnergyStep: String, Sendable, CaseIterable {
    case hour, day, month
}

/// Energy of a set of lamps over one step.
public struct EnergyTotal: Sendable, Equatable {
    /// The first hour of the step (Unix ms / 3,600,000).
    public var startHour: Int32
    /// Used, Wh.
    public var usedWh: Double
    /// At full power for the same lit time, Wh.
    public var fullPowerWh: Double
    /// Seconds lit, summed over the lamps.
    public var litSeconds: Double
    /// How many lamps have energy in the step.
    public var lamps: Int

    /// A total.
    public init(startHour: Int32, usedWh: Double, fullPowerWh: Double, litSeconds: Double, lamps: Int) {
        self.startHour = startHour
        self.usedWh = usedWh
        self.fullPowerWh = fullPowerWh
        self.litSeconds = litSeconds
        self.lamps = lamps
    }
}
