import Foundation

/// Energy of a target's lamps over a time range (`GET /api/v1/energy`).
public struct EnergyReport: Codable, Sendable, Equatable {
    /// What was asked for: `all`, `group:NAME` or a lamp id.
    public var target: String
    /// `hour`, `day` or `month` (UTC).
    public var step: String
    /// The range, start included, end not.
    public var from: Date
    public var to: Date
    /// One row per step that has energy, oldest first (steps without any are left out).
    public var rows: [EnergyRow]
    /// The rows summed (its start is `from`; its lamps the most in any one step).
    public var total: EnergyRow

    public init(target: String, step: String, from: Date, to: Date, rows: [EnergyRow], total: EnergyRow) {
        self.target = target
        self.step = step
        self.from = from
        self.to = to
        self.rows = rows
        self.total = total
    }
}

/// Energy of some lamps over one step.
public struct EnergyRow: Codable, Sendable, Equatable {
    /// When the step starts (UTC).
    public var start: Date
    /// Energy used, from the lamps' energy counters, Wh.
    public var usedWh: Double
    /// The same lamps at their registered wattage for the same time lit, Wh.
    public var fullPowerWh: Double
    /// fullPowerWh - usedWh: what dimming saved, Wh.
    public var savedWh: Double
    /// Hours lit, summed over the lamps.
    public var litHours: Double
    /// How many lamps reported energy in the step.
    public var lamps: Int

    public init(start: Date, usedWh: Double, fullPowerWh: Double, savedWh: Double, litHours: Double, lamps: Int) {
        self.start = start
        self.usedWh = usedWh
        self.fullPowerWh = fullPowerWh
        self.savedWh = savedWh
        self.litHours = litHours
        self.lamps = lamps
    }
}
