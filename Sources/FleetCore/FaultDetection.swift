import LampProtocol

/// A fault the controller finds itself, beyond the lamp's own fault bits (issue 17).
public enum FaultKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// Expected on (level > 0), but its power is near 0 W.
    case lampFailure = "lamp-failure"
    /// Expected off (program or command), but the lamp reports itself lit.
    case litByDay = "lit-by-day"
    /// Lit, but its power is off the expected `wattage × level` by more than the tolerance.
    case powerOutOfTolerance = "power-out-of-tolerance"
    /// More on/off switches in the last hour than allowed.
    case cycling
    /// Offline or unreported for too long while it should be lit.
    case darkAtNight = "dark-at-night"
    /// Most of a cabinet's lamps went dark or offline together (one incident for the cabinet).
    case cabinetPowerLost = "cabinet-power-lost"
}

/// The thresholds of fault detection (daemon settings `fault-*` and `cabinet-dark-share`).
public struct FaultThresholds: Sendable, Hashable {
    /// Below this (watts) a lamp expected on counts as failed.
    public var minWatts: Double
    /// How far (percent of the expected power) a lit lamp's power may be from `wattage × level`.
    public var powerTolerancePercent: Double
    /// More on/off changes than this within an hour is cycling.
    public var maxSwitchesPerHour: Int
    /// Offline or unreported this long (seconds) while it should be lit is dark at night.
    public var darkAfterSeconds: UInt64
    /// How long (seconds) a condition must hold before it is raised, and be gone before it is
    /// cleared: one report, a fade or a reconnect does not open an incident.
    public var holdSeconds: UInt64
    /// The share of a cabinet's lamps that going dark together loses the cabinet's power.
    public var cabinetDarkShare: Double
    /// Cabinets with fewer lamps are not judged as a whole.
    public var cabinetMinLamps: Int
    /// "Together": within this many seconds of each other.
    public var cabinetWindowSeconds: UInt64

    /// Thresholds; the defaults are the daemon's.
    public init(
        minWatts: Double = 1, powerTolerancePercent: Double = 25, maxSwitchesPerHour: Int = 10, darkAfterSeconds: UInt64 = 900,
        holdSeconds: UInt64 = 60, cabinetDarkShare: Double = 0.8, cabinetMinLamps: Int = 3, cabinetWindowSeconds: UInt64 = 120
    ) {
        self.minWatts = minWatts
        self.powerTolerancePercent = powerTolerancePercent
        self.maxSwitchesPerHour = maxSwitchesPerHour
        self.darkAfterSeconds = darkAfterSeconds
        self.holdSeconds = holdSeconds
        self.cabinetDarkShare = cabinetDarkShare
        self.cabinetMinLamps = cabinetMinLamps
        self.cabinetWindowSeconds = cabinetWindowSeconds
    }
}

/// What a lamp should be doing now, from its desired state or its program (``ProgramJudge``
/// evaluates the program): the detectors compare reports with it.
public struct FaultExpectation: Sendable, Hashable {
    /// The level it should be at, per mille (0: off).
    public var level: UInt16
    /// Whether the sun is up where it stands (only for the incident's detail).
    public var sunUp: Bool
    /// False while a fade or a switch point's grace is under way: power is not judged then.
    public var settled: Bool

    /// An expectation.
    public init(level: UInt16, sunUp: Bool, settled: Bool = true) {
        self.level = level
        self.sunUp = sunUp
        self.settled = settled
    }
}

/// A detector's verdict changing: raised (with what was seen) or cleared.
public struct FaultChange: Sendable, Hashable {
    /// Which fault.
    public var kind: FaultKind
    /// True: raised; false: cleared.
    public var raised: Bool
    /// What was seen, for people (empty when cleared).
    public var detail: String

    /// A change.
    public init(kind: FaultKind, raised: Bool, detail: String = "") {
        self.kind = kind
        self.raised = raised
        self.detail = detail
    }
}

/// A condition with hysteresis in time: it becomes active after holding for `hold`
/// milliseconds without a break, and inactive after being absent as long.
struct Debounced: Sendable, Hashable {
    private(set) var active = false
    /// Since when the observed condition has disagreed with `active`.
    private var changingSince: UInt64?

    /// Observes the condition at `now`; returns the new state when it changes.
    mutating func observe(_ holds: Bool, at now: UInt64, hold: UInt64) -> Bool? {
        guard holds != active else {
            changingSince = nil
            return nil
        }
        let since = changingSince ?? now
        changingSince = since
        guard now >= since && now - since >= hold else { return nil }
        active = holds
        changingSince = nil
        return holds
    }
}

/// One lamp's detectors: a value fed with its status reports, its link going up and down and
/// ticks, with what it should be doing; returns the faults raised and cleared. No I/O.
public struct LampFaultDetector: Sendable, Hashable {
    private var failure = Debounced()
    private var litWhenOff = Debounced()
    private var power = Debounced()
    private var cycling = Debounced()
    private var dark = Debounced()
    /// When it was last lit or dark as reported, and the times of its switches in the last hour.
    private var lastLit: Bool?
    private var switches: [UInt64] = []
    /// When it last reported, and whether its link is up.
    private var lastReportAt: UInt64?
    private var online = false
    /// When it went offline or was first seen by the detector (dark counts from then).
    private var silentSince: UInt64

    /// A detector for a lamp first seen at `now`.
    public init(atMilliseconds now: UInt64) {
        silentSince = now
    }

    /// Whether a fault is raised now.
    public func isRaised(_ kind: FaultKind) -> Bool {
        switch kind {
        case .lampFailure: failure.active
        case .litByDay: litWhenOff.active
        case .powerOutOfTolerance: power.active
        case .cycling: cycling.active
        case .darkAtNight: dark.active
        case .cabinetPowerLost: false
        }
    }

    /// Its link went up or down.
    public mutating func link(up: Bool, atMilliseconds now: UInt64) {
        if online && !up { silentSince = now }
        online = up
    }

    /// A status report: whether it is lit, its level (per mille) and power (watts), its
    /// rated wattage if registered, and what it should be doing.
    public mutating func report(
        lit: Bool, watts: Double, wattage: Double?, expected: FaultExpectation, thresholds t: FaultThresholds, atMilliseconds now: UInt64
    ) -> [FaultChange] {
        lastReportAt = now
        online = true
        var changes: [FaultChange] = []
        let hold = t.holdSeconds * 1000
        if let lastLit, lastLit != lit { switches.append(now) }
        lastLit = lit
        let on = expected.level > 0
        let failed = on && expected.settled && watts < t.minWatts
        if let raised = failure.observe(failed, at: now, hold: hold) {
            changes.append(FaultChange(kind: .lampFailure, raised: raised, detail: raised ? "expected on at \(Self.percent(expected.level)), reporting \(Self.watts(watts))" : ""))
        }
        let wrongLit = !on && lit && expected.settled
        if let raised = litWhenOff.observe(wrongLit, at: now, hold: hold) {
            let when = expected.sunUp ? "by day" : "at night"
            changes.append(FaultChange(kind: .litByDay, raised: raised, detail: raised ? "lit \(when) while it should be off, \(Self.watts(watts))" : ""))
        }
        // Expected power is linear in level; the band to clear is 4/5 of the band to raise.
        if let wattage, wattage > 0, on, lit, expected.settled, watts >= t.minWatts {
            let expectedWatts = wattage * Double(expected.level) / 1000
            let off = abs(watts - expectedWatts) / expectedWatts * 100
            let drifting = power.active ? off > t.powerTolerancePercent * 0.8 : off > t.powerTolerancePercent
            if let raised = power.observe(drifting, at: now, hold: hold) {
                changes.append(FaultChange(kind: .powerOutOfTolerance, raised: raised, detail: raised ? "\(Self.watts(watts)) where \(Self.watts(expectedWatts)) is expected (\(Int(off.rounded())) % off)" : ""))
            }
        }
        changes += tick(expected: expected, thresholds: t, atMilliseconds: now)
        return changes
    }

    /// Time passing (also called by every report): cycling's hour slides, dark lamps stay dark.
    public mutating func tick(expected: FaultExpectation, thresholds t: FaultThresholds, atMilliseconds now: UInt64) -> [FaultChange] {
        var changes: [FaultChange] = []
        let hour: UInt64 = 3_600_000
        if let first = switches.first, now > first + hour { switches.removeAll { now > $0 + hour } }
        // Raised above the limit, cleared at half of it: a lamp near the limit does not flap.
        let cycles = cycling.active ? switches.count > t.maxSwitchesPerHour / 2 : switches.count > t.maxSwitchesPerHour
        if let raised = cycling.observe(cycles, at: now, hold: 0) {
            changes.append(FaultChange(kind: .cycling, raised: raised, detail: raised ? "\(switches.count) switches in the last hour" : ""))
        }
        let darkAfter = t.darkAfterSeconds * 1000
        let since = online ? max(lastReportAt ?? silentSince, silentSince) : silentSince
        let isDark = expected.level > 0 && (now >= since && now - since > darkAfter)
        if let raised = dark.observe(isDark, at: now, hold: 0) {
            let how = online ? "unreported" : "offline"
            changes.append(FaultChange(kind: .darkAtNight, raised: raised, detail: raised ? "\(how) for \((now - since) / 1000) s while it should be lit" : ""))
        }
        return changes
    }

    static func watts(_ watts: Double) -> String {
        "\((watts * 10).rounded() / 10) W"
    }

    static func percent(_ level: UInt16) -> String {
        "\(Double(level) / 10) %"
    }
}

/// The cabinet rule: when at least ``FaultThresholds/cabinetDarkShare`` of a cabinet's lamps
/// (and at least ``FaultThresholds/cabinetMinLamps``) went offline within
/// ``FaultThresholds/cabinetWindowSeconds`` of each other, the cabinet lost power: one
/// incident for the cabinet, and the lamps' own dark faults are folded into it. It clears
/// when fewer than half that share are still offline (so lamps coming back one by one do not
/// reopen it).
public struct CabinetWatch: Sendable, Hashable {
    /// Per cabinet: its lamps, and when each offline lamp went offline.
    private var members: [String: Set<LampID>] = [:]
    private var offlineSince: [String: [LampID: UInt64]] = [:]
    /// Cabinets whose power is lost now.
    public private(set) var lost: Set<String> = []

    /// A watch over no cabinets.
    public init() {}

    /// Puts a lamp in a cabinet (nil: none), taking it out of its former one.
    public mutating func place(_ lamp: LampID, in cabinet: String?, from former: String?) {
        if let former {
            members[former]?.remove(lamp)
            offlineSince[former]?[lamp] = nil
        }
        if let cabinet { members[cabinet, default: []].insert(lamp) }
    }

    /// A lamp of `cabinet` went offline (up false) or came back; returns the cabinet's change.
    public mutating func link(
        _ lamp: LampID, cabinet: String, up: Bool, thresholds t: FaultThresholds, atMilliseconds now: UInt64
    ) -> FaultChange? {
        guard let lamps = members[cabinet], lamps.contains(lamp) else { return nil }
        if up { offlineSince[cabinet]?[lamp] = nil } else if offlineSince[cabinet]?[lamp] == nil { offlineSince[cabinet, default: [:]][lamp] = now }
        let down = offlineSince[cabinet] ?? [:]
        let needed = t.cabinetDarkShare * Double(lamps.count)
        if lost.contains(cabinet) {
            guard Double(down.count) < needed / 2 else { return nil }
            lost.remove(cabinet)
            return FaultChange(kind: .cabinetPowerLost, raised: false)
        }
        guard lamps.count >= t.cabinetMinLamps, !up else { return nil }
        let window = t.cabinetWindowSeconds * 1000
        let together = down.values.filter { $0 + window >= now }.count
        guard Double(together) >= needed else { return nil }
        lost.insert(cabinet)
        return FaultChange(kind: .cabinetPowerLost, raised: true, detail: "\(together) of \(lamps.count) lamps went offline within \(t.cabinetWindowSeconds) s")
    }

    /// Whether a lamp's cabinet has lost power (its own dark fault is folded into the cabinet's).
    public func covers(cabinet: String?) -> Bool {
        cabinet.map { lost.contains($0) } ?? false
    }
}
