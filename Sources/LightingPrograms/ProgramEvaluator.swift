/// A program's switch point on one day.
public struct SwitchPoint: Hashable, Sendable {
    /// Seconds since 1970-01-01 UTC.
    public var instant: Int64
    /// Per mille.
    public var level: UInt16
    public var fadeDeciseconds: UInt8
    /// Which entry of the program.
    public var entry: Int
}

/// One night of a program at a place: from local noon to local noon.
public struct NightTimeline: Hashable, Sendable {
    /// The evening's date.
    public var date: CivilDate
    public var sunset: SolarCrossing
    public var dusk: SolarCrossing
    /// The next morning's.
    public var dawn: SolarCrossing
    public var sunrise: SolarCrossing
    /// The level at local noon, before the night's switch points.
    public var levelAtNoon: UInt16
    /// The switch points of the night, in order, after the skip rule.
    public var points: [SwitchPoint]
}

/// Answers what a program asks of a lamp at a place: the level at an instant, and a night's
/// timeline. No I/O, no clock of its own: the caller gives the time, so the controller, a
/// simulated lamp and lamp firmware compute the same thing.
///
/// Rules:
/// - An entry fires once on each local date whose weekday and season it includes.
/// - The level at an instant is that of the last switch point at or before it (0 before any).
/// - Polar night (the sun stays below the horizon all day): sunset and dusk triggers fire at
///   the local midnight that starts the date, sunrise and dawn triggers do not fire, so an
///   all-night program keeps the lamps on. Polar day: the reverse, so they stay off.
/// - With `skipShorterThanMinutes` > 0, a switch-on (level from 0 to more) followed by a
///   switch-off (back to 0) sooner than that is dropped, with any steps between.
public struct ProgramEvaluator: Sendable {
    public let program: LightingProgram
    public let place: Place

    public init(program: LightingProgram, place: Place) {
        self.program = program
        self.place = place
    }

    /// The level (per mille) at `instant`, and the switch point that set it.
    public func level(at instant: Int64) -> (level: UInt16, since: SwitchPoint?) {
        let lookahead = Int64(program.skipShorterThanMinutes) * 60
        let points = switchPoints(from: instant - 2 * 86_400, to: instant + lookahead + 86_400)
        guard let last = points.last(where: { $0.instant <= instant }) else { return (0, nil) }
        return (last.level, last)
    }

    /// The night that starts on `date`: local noon to the next local noon.
    public func night(of date: CivilDate) -> NightTimeline {
        let zone = place.timeZone
        let start = zone.unix(date, secondsOfDay: 12 * 3600)
        let end = zone.unix(date.adding(days: 1), secondsOfDay: 12 * 3600)
        let lookahead = Int64(program.skipShorterThanMinutes) * 60
        let points = switchPoints(from: start - 2 * 86_400, to: end + lookahead + 86_400)
        let evening = SolarCalculator.day(date, latitude: place.latitude, longitude: place.longitude)
        let morning = SolarCalculator.day(date.adding(days: 1), latitude: place.latitude, longitude: place.longitude)
        return NightTimeline(
            date: date, sunset: evening.sunset, dusk: evening.dusk, dawn: morning.dawn, sunrise: morning.sunrise,
            levelAtNoon: points.last(where: { $0.instant < start })?.level ?? 0,
            points: points.filter { $0.instant >= start && $0.instant < end })
    }

    /// Every switch point with an instant in [from, to), in order, after the skip rule.
    public func switchPoints(from: Int64, to: Int64) -> [SwitchPoint] {
        let zone = place.timeZone
        let first = zone.local(from).date.adding(days: -1)
        let last = zone.local(to).date.adding(days: 1)
        var points: [SwitchPoint] = []
        var date = first
        while date <= last {
            let solar = SolarCalculator.day(date, latitude: place.latitude, longitude: place.longitude)
            for (index, entry) in program.entries.enumerated() {
                guard entry.days.contains(isoWeekday: date.weekday), entry.season?.contains(date) ?? true,
                    let instant = instant(of: entry.trigger, on: date, solar: solar)
                else { continue }
                points.append(SwitchPoint(instant: instant, level: entry.level, fadeDeciseconds: entry.fadeDeciseconds, entry: index))
            }
            date = date.adding(days: 1)
        }
        points.sort { ($0.instant, $0.entry) < ($1.instant, $1.entry) }
        points = skippingShortOnPeriods(points)
        return points.filter { $0.instant >= from && $0.instant < to }
    }

    func instant(of trigger: Trigger, on date: CivilDate, solar: SolarDay) -> Int64? {
        let midnight = place.timeZone.unix(date, secondsOfDay: 0)
        func evening(_ crossing: SolarCrossing, _ offset: Int) -> Int64? {
            switch crossing {
            case .at(let seconds): seconds + Int64(offset) * 60
            case .alwaysBelow: midnight
            case .alwaysAbove: nil
            }
        }
        func morning(_ crossing: SolarCrossing, _ offset: Int) -> Int64? {
            switch crossing {
            case .at(let seconds): seconds + Int64(offset) * 60
            case .alwaysAbove: midnight
            case .alwaysBelow: nil
            }
        }
        switch trigger {
        case .time(let minutes): return place.timeZone.unix(date, secondsOfDay: minutes * 60)
        case .sunset(let offset): return evening(solar.sunset, offset)
        case .dusk(let offset): return evening(solar.dusk, offset)
        case .sunrise(let offset): return morning(solar.sunrise, offset)
        case .dawn(let offset): return morning(solar.dawn, offset)
        }
    }

    func skippingShortOnPeriods(_ points: [SwitchPoint]) -> [SwitchPoint] {
        let minimum = Int64(program.skipShorterThanMinutes) * 60
        guard minimum > 0 else { return points }
        var kept: [SwitchPoint] = []
        var level: UInt16 = 0
        var index = 0
        while index < points.count {
            let point = points[index]
            if level == 0 && point.level > 0 {
                // Find where it goes off again.
                var end = index + 1
                while end < points.count && points[end].level > 0 { end += 1 }
                if end < points.count && points[end].instant - point.instant < minimum {
                    index = end + 1
                    continue
                }
            }
            kept.append(point)
            level = point.level
            index += 1
        }
        return kept
    }
}
