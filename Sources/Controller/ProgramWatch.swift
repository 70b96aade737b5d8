import FleetCore
import LampProtocol
import LightingPrograms
import Logging
import ServiceLifecycle
import Synchronization

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

    /// Compares a report with the program.
    public static func classify(expected: UInt16, reported: UInt16, lit: Bool, sunUp: Bool) -> ProgramMismatch? {
        switch (expected > 0, lit) {
        case (false, false): return nil
        case (false, true): return sunUp ? .onByDay : .onWhenOff
        case (true, false): return sunUp ? .offWhenOn : .offAtNight
        case (true, true):
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

/// Compares every online lamp that follows its program with what the program asks for now,
/// every `interval`, and records an event when a lamp starts to disagree
/// (`program.mismatch`, with the reason) and when it agrees again (`program.match`). A lamp
/// is not judged within `grace` of a switch point (fades, report delay) or on a report older
/// than the switch point.
public final class ProgramWatch: Service, Sendable {
    let fleet: FleetState
    let events: FleetEvents
    let clock: any FleetClock
    let logger: Logger
    let interval: Duration
    let graceSeconds: Int64
    /// The mismatch each lamp (by slot) is in, as last recorded.
    private let current = Mutex<[Int: ProgramMismatch]>([:])

    init(
        fleet: FleetState, events: FleetEvents, clock: any FleetClock, interval: Duration = .seconds(60), graceSeconds: Int64 = 180,
        logger: Logger
    ) {
        self.fleet = fleet
        self.events = events
        self.clock = clock
        self.interval = interval
        self.graceSeconds = graceSeconds
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                // A graceful shutdown ends the wait at once rather than after up to an interval.
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            } catch {
                break
            }
            check(atMilliseconds: clock.nowMilliseconds())
        }
    }

    /// One pass over the fleet; returns the events it emitted.
    @discardableResult
    public func check(atMilliseconds now: UInt64) -> [FleetEvent] {
        let seconds = Int64(now / 1000)
        // Lamps sharing a program and a place share one evaluation.
        var evaluations: [String: (level: UInt16, since: Int64?, sunUp: Bool)] = [:]
        var verdicts: [(slot: Int, id: LampID, mismatch: ProgramMismatch?)] = []
        let candidates = fleet.withEntries { table in
            table.indices.compactMap { slot -> (Int, LampEntry)? in
                let entry = table[slot]
                guard entry.online, entry.status != nil, entry.desired.program.name != nil,
                    entry.desired.control.intent.level(atMilliseconds: now) == nil
                else { return nil }
                return (slot, entry)
            }
        }
        for (slot, entry) in candidates {
            guard let evaluator = fleet.programEvaluator(for: entry), let status = entry.status else { continue }
            let place = evaluator.place
            let key = "\(entry.desired.program.name ?? "") \(place.latitude) \(place.longitude)"
            let evaluation: (level: UInt16, since: Int64?, sunUp: Bool)
            if let known = evaluations[key] {
                evaluation = known
            } else {
                let (level, point) = evaluator.level(at: seconds)
                evaluation = (level, point?.instant, Self.sunUp(at: seconds, place: place))
                evaluations[key] = evaluation
            }
            if let since = evaluation.since {
                guard seconds - since >= graceSeconds, Int64(entry.reportedAtMilliseconds / 1000) >= since else { continue }
            }
            let mismatch = ProgramMismatch.classify(
                expected: evaluation.level, reported: status.level.permille, lit: status.isLit, sunUp: evaluation.sunUp)
            verdicts.append((slot, entry.record.id, mismatch))
        }
        var emitted: [(slot: Int, event: FleetEvent)] = []
        current.withLock { current in
            for verdict in verdicts where current[verdict.slot] != verdict.mismatch {
                if let mismatch = verdict.mismatch {
                    emitted.append((verdict.slot, .program(verdict.id, mismatch: mismatch.description)))
                } else if current[verdict.slot] != nil {
                    emitted.append((verdict.slot, .program(verdict.id, mismatch: nil)))
                }
                current[verdict.slot] = verdict.mismatch
            }
        }
        for (slot, event) in emitted {
            events.emit(event, slot: slot, atMilliseconds: now)
            if case .program(let id, let mismatch?) = event {
                logger.notice("lamp and program disagree", metadata: ["lamp.id": "\(id)", "mismatch": "\(mismatch)"])
            }
        }
        return emitted.map(\.event)
    }

    /// Whether the sun is above the horizon at an instant (between the local date's
    /// sunrise and sunset, or in polar day).
    static func sunUp(at seconds: Int64, place: Place) -> Bool {
        let date = place.timeZone.local(seconds).date
        let day = SolarCalculator.day(date, latitude: place.latitude, longitude: place.longitude)
        switch (day.sunrise, day.sunset) {
        case (.alwaysAbove, _), (_, .alwaysAbove): return true
        case (.alwaysBelow, _), (_, .alwaysBelow): return false
        case (.at(let rise), .at(let set)): return seconds >= rise && seconds < set
        }
    }
}
