/// A program's lit time over each month of a year at a place, from the solar calculator:
/// every night (local noon to noon) whose evening falls in the month, at the levels the
/// program asks for. Fades are taken as steps (a fade of seconds is nothing in a month).
public struct MonthForecast: Hashable, Sendable {
    /// 1 to 12.
    public var month: Int
    /// Nights counted (the month's days).
    public var nights: Int
    /// Seconds lit (level above 0).
    public var litSeconds: Int64
    /// Seconds lit weighted by level (per mille / 1000): full-power-equivalent seconds. Power
    /// is taken as proportional to level, so energy = wattage × this.
    public var fullPowerSeconds: Double
}

extension ProgramEvaluator {
    /// Each month of `year`: the nights whose evening is in it, lit time and level-weighted time.
    public func forecast(year: Int) -> [MonthForecast] {
        (1...12).map { month in
            var forecast = MonthForecast(month: month, nights: 0, litSeconds: 0, fullPowerSeconds: 0)
            for day in 1...CivilDate.daysIn(month: month, year: year) {
                guard let date = CivilDate(year: year, month: month, day: day) else { continue }
                let night = self.night(of: date)
                let start = place.timeZone.unix(date, secondsOfDay: 12 * 3600)
                let end = place.timeZone.unix(date.adding(days: 1), secondsOfDay: 12 * 3600)
                var level = night.levelAtNoon
                var from = start
                for point in night.points + [SwitchPoint(instant: end, level: 0, fadeDeciseconds: 0, entry: 0)] {
                    let seconds = point.instant - from
                    if level > 0 {
                        forecast.litSeconds += seconds
                        forecast.fullPowerSeconds += Double(seconds) * Double(level) / 1000
                    }
                    level = point.level
                    from = point.instant
                }
                forecast.nights += 1
            }
            return forecast
        }
    }
}
