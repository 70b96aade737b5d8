import LampProtocol
import LightingPrograms

/// How a lamp's report disagrees with its program (or nil: it agrees).
public enum ProgramMismatch: Hashable, Sendable, CustomStringConvertible {
    /// Lit while the sun is up and the program says off.
    case onByDay
    /// Lit while the program says off, with the sun down.
    case onWhenOff
    /// Dark while the sun is down and the program says on.
    case offAtNight
    /// Dark while the program says on, with the sun up.
    case offWhenOn
    /// Lit, but more than 5 % from the program's level.
    case wrongLevel(expected: UInt16, reported: UInt16)

    /// Levels closer than this (per mille) agree: dimming drivers round.
    public static let tolerance = 50

    /// Compares a report with the program. A lamp that cannot dim (`dimmable` false) shows
    /// every level above 0 at full, so lit is all it can agree with (SPEC.md §5.2).
    public static func classify(expected: UInt16, reported: UInt16, lit: Bool, sunUp: Bool, dimmable: Bool = true) -> ProgramMismatch? {
        switch (expected > 0, lit) {
        case (false, false): return nil
        case (false, true): return sunUp ? .onByDay : .onWhenOff
        case (true, false): return sunUp ? .offWhenOn : .offAtNight
        case (true, true):
            guard dimmable else { return nil }
            return abs(Int(expected) - Int(reported)) > tolerance ? .wrongLevel(expected: expected, reported: reported) : nil
        }
    }

    public var description: String {
        switch self {
        case .onByDay: "on by day"
        case .onWhenOff: "on when the program says off"
        case .offAtNight: "off at night"
        case .offWhenOn: "off when the program says on"
        case .wrongLevel(let expected, let reported):
            "wrong level: expected \(ProgramText.level(expected)), reported \(ProgramText.level(reported))"
        }
    }
}

/// Judges lamps that follow their program against what the program asks for now, and
/// remembers each lamp's verdict so that only changes become events (`program.mismatch`
/// when a lamp starts to disagree, `program.match` when it agrees again). A lamp is not
/// judged within `graceSeconds` of a switch point (fades, report delay) or on a report older
/// than the switch point. A value with no I/O: the controller's program watch runs it on a
/// timer.
///
/// Which clock a lamp is judged on: the controller's, so that a lamp whose clock is wrong
/// but runs at the normal rate is called out for the street it leaves dark or lit, except
/// for a lamp whose clock runs at another rate (`lampsim --time-scale`, a night in a minute):
/// that one is judged on its own clock, at the instant of its report, since on the
/// controller's time every switch it makes would be a mismatch. The rate is measured between
/// the first report the judge saw on the link and a later one; a lamp more than
/// ``clockTolerance`` off whose rate is not known yet is not judged.
public struct ProgramJudge: Sendable {
    /// Seconds after a switch point during which lamps are not judged.
    public let graceSeconds: Int64
    /// A lamp's clock this close to the controller's (seconds) is judged on the controller's.
    public static let clockTolerance: Int64 = 300
    /// The mismatch each lamp (by slot) is in, as last recorded.
    private var current: [Int: ProgramMismatch] = [:]
    /// The first report seen on each lamp's link: its clock and the controller's time (s).
    private var clockSamples: [Int: (lamp: Int64, controller: Int64)] = [:]

    /// A judge with no verdicts yet.
    public init(graceSeconds: Int64 = 180) {
        self.graceSeconds = graceSeconds
    }

    /// One pass over the fleet at `now`; returns the events of lamps whose verdict changed.
    public mutating func judge(_ model: FleetModel, atMilliseconds now: UInt64) -> [(slot: Int, event: FleetEvent)] {
        var samples: [LampSample] = []
        model.lampSamples(into: &samples)
        return judge(samples, atMilliseconds: now)
    }

    /// One pass over ``LampSample``s the caller took from the fleet (see
    /// ``FleetModel/lampSamples(into:)``): the same pass, without a copy of the fleet model.
    public mutating func judge(_ samples: [LampSample], atMilliseconds now: UInt64) -> [(slot: Int, event: FleetEvent)] {
        let seconds = Int64(now / 1000)
        // Lamps sharing a program and a place share one evaluation.
        var evaluations: [String: (level: UInt16, since: Int64?, sunUp: Bool)] = [:]
        var events: [(slot: Int, event: FleetEvent)] = []
        for slot in samples.indices {
            let entry = samples[slot]
            // A lamp that does not run programs (SPEC.md §5.2) gets none, so it is not judged.
            guard entry.online, !entry.removed, entry.runsPrograms != false, let status = entry.status else {
                clockSamples[slot] = nil
                continue
            }
            guard let name = entry.program, entry.intent.level(atMilliseconds: now) == nil, let evaluator = entry.evaluator
            else { continue }
            let place = evaluator.place
            // The instant judged, and when the report was made, on the same clock.
            let controllerReportedAt = Int64(entry.reportedAtMilliseconds / 1000)
            let judgedAt: Int64
            let reportedAt: Int64
            switch clock(slot, status: status, reportedAt: controllerReportedAt) {
            case .controller: (judgedAt, reportedAt) = (seconds, controllerReportedAt)
            case .own: (judgedAt, reportedAt) = (Int64(status.clock), Int64(status.clock))
            case .unknown: continue
            }
            let key = "\(name) \(place.latitude) \(place.longitude) \(judgedAt)"
            let evaluation: (level: UInt16, since: Int64?, sunUp: Bool)
            if let known = evaluations[key] {
                evaluation = known
            } else {
                let (level, point) = evaluator.level(at: judgedAt)
                evaluation = (level, point?.instant, Self.sunUp(at: judgedAt, place: place))
                evaluations[key] = evaluation
            }
            if let since = evaluation.since {
                guard judgedAt - since >= graceSeconds, reportedAt >= since else { continue }
            }
            let mismatch = ProgramMismatch.classify(
                expected: evaluation.level, reported: status.level.permille, lit: status.isLit, sunUp: evaluation.sunUp,
                dimmable: entry.dims)
            guard current[slot] != mismatch else { continue }
            if let mismatch {
                events.append((slot, .program(entry.id, mismatch: mismatch.description)))
            } else {
                events.append((slot, .program(entry.id, mismatch: nil)))
            }
            current[slot] = mismatch
        }
        return events
    }

    /// Which clock a lamp is judged on.
    enum JudgedClock { case controller, own, unknown }

    /// The clock to judge a lamp's report on; samples the lamp's clock on the way.
    mutating func clock(_ slot: Int, status: StatusReport, reportedAt controller: Int64) -> JudgedClock {
        guard status.clock > 0 else { return .controller }
        let lamp = Int64(status.clock)
        guard let sample = clockSamples[slot] else {
            clockSamples[slot] = (lamp, controller)
            return abs(lamp - controller) <= Self.clockTolerance ? .controller : .unknown
        }
        if abs(lamp - controller) <= Self.clockTolerance { return .controller }
        let elapsed = controller - sample.controller
        guard elapsed >= 2 else { return .unknown }
        let rate = Double(lamp - sample.lamp) / Double(elapsed)
        return (0.5...2).contains(rate) ? .controller : .own
    }

    /// Whether the sun is above the horizon at an instant (between the local date's
    /// sunrise and sunset, or in polar day).
    public static func sunUp(at seconds: Int64, place: Place) -> Bool {
        let date = place.timeZone.local(seconds).date
        let day = SolarCalculator.day(date, latitude: place.latitude, longitude: place.longitude)
        switch (day.sunrise, day.sunset) {
        case (.alwaysAbove, _), (_, .alwaysAbove): return true
        case (.alwaysBelow, _), (_, .alwaysBelow): return false
        case (.at(let rise), .at(let set)): return seconds >= rise && seconds < set
        }
    }
}
