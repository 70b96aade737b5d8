import LampProtocol
import LightingPrograms

/// Where an incident is in its life.
public enum IncidentState: String, Sendable, Hashable, CaseIterable, Codable {
    case open, acknowledged, resolved
}

/// What an incident is about: one lamp, or a cabinet (feeder pillar).
public enum IncidentSubject: Sendable, Hashable, CustomStringConvertible {
    case lamp(LampID)
    case cabinet(String)

    public var description: String {
        switch self {
        case .lamp(let id): "lamp:\(id.value)"
        case .cabinet(let name): "cabinet:\(name)"
        }
    }
}

/// A fault as operators handle it: opened by a detector, acknowledged and resolved by people
/// (or cleared by the lamp, when the fault stops).
public struct IncidentRecord: Sendable, Hashable {
    /// What resolves an incident whose fault stopped by itself.
    public static let clearedByLamp = "cleared by the lamp"

    /// Its id.
    public var id: Int64
    /// Which fault.
    public var kind: FaultKind
    /// The lamp or cabinet.
    public var subject: IncidentSubject
    /// When it opened, Unix ms.
    public var openedAtMilliseconds: UInt64
    /// Its state.
    public var state: IncidentState
    /// Who acknowledged it, and when.
    public var acknowledgedBy: String?
    public var acknowledgedAtMilliseconds: UInt64?
    /// Who resolved it (a token's name, or ``clearedByLamp``), and when.
    public var resolvedBy: String?
    public var resolvedAtMilliseconds: UInt64?
    /// What the detector saw.
    public var detail: String

    /// An incident.
    public init(
        id: Int64, kind: FaultKind, subject: IncidentSubject, openedAtMilliseconds: UInt64, state: IncidentState = .open,
        acknowledgedBy: String? = nil, acknowledgedAtMilliseconds: UInt64? = nil, resolvedBy: String? = nil,
        resolvedAtMilliseconds: UInt64? = nil, detail: String
    ) {
        self.id = id
        self.kind = kind
        self.subject = subject
        self.openedAtMilliseconds = openedAtMilliseconds
        self.state = state
        self.acknowledgedBy = acknowledgedBy
        self.acknowledgedAtMilliseconds = acknowledgedAtMilliseconds
        self.resolvedBy = resolvedBy
        self.resolvedAtMilliseconds = resolvedAtMilliseconds
        self.detail = detail
    }
}

/// The incidents not yet resolved, one per (subject, kind): detectors' changes and operators'
/// acknowledgements and resolutions go through it, and it returns each incident as it now is,
/// for the caller to store and announce. A value with no I/O.
public struct IncidentBook: Sendable {
    private struct Key: Hashable {
        var subject: IncidentSubject
        var kind: FaultKind
    }

    private var unresolved: [Key: IncidentRecord] = [:]
    private var byID: [Int64: Key] = [:]
    private var nextID: Int64

    /// A book holding the stored unresolved incidents; new ids follow `highestID`.
    public init(unresolved incidents: [IncidentRecord] = [], highestID: Int64 = 0) {
        nextID = max(highestID, incidents.map(\.id).max() ?? 0) + 1
        for incident in incidents where incident.state != .resolved {
            let key = Key(subject: incident.subject, kind: incident.kind)
            unresolved[key] = incident
            byID[incident.id] = key
        }
    }

    /// Every unresolved incident, oldest first.
    public var open: [IncidentRecord] {
        unresolved.values.sorted { $0.id < $1.id }
    }

    /// The unresolved incident of a subject and kind, if any.
    public func incident(_ kind: FaultKind, of subject: IncidentSubject) -> IncidentRecord? {
        unresolved[Key(subject: subject, kind: kind)]
    }

    /// The unresolved incident with this id, if any.
    public func incident(id: Int64) -> IncidentRecord? {
        byID[id].flatMap { unresolved[$0] }
    }

    /// Puts an unresolved incident back as it was before an operator's change that could not
    /// be stored, unless a newer incident of its subject and kind has opened since.
    public mutating func restore(_ incident: IncidentRecord) {
        let key = Key(subject: incident.subject, kind: incident.kind)
        guard incident.state != .resolved, unresolved[key].map({ $0.id == incident.id }) ?? true else { return }
        unresolved[key] = incident
        byID[incident.id] = key
    }

    /// A detector's change: a raised fault opens an incident unless one is unresolved for the
    /// subject and kind; a cleared fault resolves it as ``IncidentRecord/clearedByLamp``.
    /// Returns the incident opened or resolved, nil if nothing changed.
    public mutating func apply(_ change: FaultChange, to subject: IncidentSubject, atMilliseconds now: UInt64) -> IncidentRecord? {
        let key = Key(subject: subject, kind: change.kind)
        if change.raised {
            guard unresolved[key] == nil else { return nil }
            let incident = IncidentRecord(id: nextID, kind: change.kind, subject: subject, openedAtMilliseconds: now, detail: change.detail)
            nextID += 1
            unresolved[key] = incident
            byID[incident.id] = key
            return incident
        }
        guard unresolved[key] != nil else { return nil }
        return close(key, by: IncidentRecord.clearedByLamp, atMilliseconds: now)
    }

    /// An operator acknowledges an unresolved incident; nil if it is not unresolved. Once
    /// acknowledged, acknowledging again changes nothing (returns it unchanged).
    public mutating func acknowledge(_ id: Int64, by actor: String, atMilliseconds now: UInt64) -> IncidentRecord? {
        guard let key = byID[id], var incident = unresolved[key] else { return nil }
        guard incident.state == .open else { return incident }
        incident.state = .acknowledged
        incident.acknowledgedBy = actor
        incident.acknowledgedAtMilliseconds = now
        unresolved[key] = incident
        return incident
    }

    /// An operator resolves an unresolved incident; nil if it is not unresolved. If the fault
    /// still holds, its detector opens a new incident only after it clears and is raised again.
    public mutating func resolve(_ id: Int64, by actor: String, atMilliseconds now: UInt64) -> IncidentRecord? {
        guard let key = byID[id], unresolved[key] != nil else { return nil }
        return close(key, by: actor, atMilliseconds: now)
    }

    private mutating func close(_ key: Key, by actor: String, atMilliseconds now: UInt64) -> IncidentRecord? {
        guard var incident = unresolved.removeValue(forKey: key) else { return nil }
        byID[incident.id] = nil
        incident.state = .resolved
        incident.resolvedBy = actor
        incident.resolvedAtMilliseconds = now
        return incident
    }
}

/// The fleet's fault detection: each lamp's detectors, the cabinet rule and the incident book
/// together. Fed with reports, links and ticks; returns the incidents opened or resolved, for
/// the caller to store and announce. A lamp's dark fault while its cabinet has lost power is
/// folded into the cabinet's incident (no incident of its own). A value with no I/O.
public struct FaultMonitor: Sendable {
    /// The thresholds.
    public var thresholds: FaultThresholds
    private var detectors: [LampID: LampFaultDetector] = [:]
    private var cabinets: [LampID: String] = [:]
    private var watch = CabinetWatch()
    /// Lamps whose dark fault was folded into their cabinet's incident, and when each cabinet
    /// last came back: a lamp still dark a hold after its cabinet came back gets its own.
    private var folded: Set<LampID> = []
    private var cabinetBackAt: [String: UInt64] = [:]
    /// Per lamp, what the last pass over a model saw: link up, and the time of its report.
    private var seen: [LampID: (online: Bool, reportedAt: UInt64)] = [:]
    /// When the last pass ran (at first: when the monitor was made).
    private var lastPass: UInt64
    /// The unresolved incidents.
    public private(set) var book: IncidentBook

    /// A monitor for lamps (with their cabinets) and the stored unresolved incidents.
    public init(
        thresholds: FaultThresholds, lamps: [(id: LampID, cabinet: String?)], incidents: [IncidentRecord] = [], highestID: Int64 = 0,
        atMilliseconds now: UInt64
    ) {
        self.thresholds = thresholds
        book = IncidentBook(unresolved: incidents, highestID: highestID)
        // Lamps that link and drop again before the first pass count as up in between.
        lastPass = now
        for lamp in lamps {
            detectors[lamp.id] = LampFaultDetector(atMilliseconds: now)
            setCabinet(lamp.cabinet, of: lamp.id)
        }
    }

    /// Puts a lamp (a new one too) in a cabinet, nil: none.
    public mutating func setCabinet(_ cabinet: String?, of lamp: LampID) {
        watch.place(lamp, in: cabinet, from: cabinets[lamp])
        cabinets[lamp] = cabinet
    }

    /// A lamp removed: its detectors go, its incidents stay as they are.
    public mutating func remove(_ lamp: LampID) {
        setCabinet(nil, of: lamp)
        detectors[lamp] = nil
    }

    /// A status report (see ``LampFaultDetector/report(lit:watts:wattage:expected:thresholds:atMilliseconds:)``).
    public mutating func report(
        _ lamp: LampID, lit: Bool, watts: Double, wattage: Double?, expected: FaultExpectation, atMilliseconds now: UInt64
    ) -> [IncidentRecord] {
        var detector = detectors[lamp] ?? LampFaultDetector(atMilliseconds: now)
        let changes = detector.report(lit: lit, watts: watts, wattage: wattage, expected: expected, thresholds: thresholds, atMilliseconds: now)
        detectors[lamp] = detector
        return apply(changes, of: lamp, atMilliseconds: now)
    }

    /// A lamp's link went up or down.
    public mutating func link(_ lamp: LampID, up: Bool, atMilliseconds now: UInt64) -> [IncidentRecord] {
        detectors[lamp, default: LampFaultDetector(atMilliseconds: now)].link(up: up, atMilliseconds: now)
        guard let cabinet = cabinets[lamp], let change = watch.link(lamp, cabinet: cabinet, up: up, thresholds: thresholds, atMilliseconds: now),
            let incident = book.apply(change, to: .cabinet(cabinet), atMilliseconds: now)
        else { return [] }
        var result = [incident]
        if change.raised {
            // Lamps already called dark on their own are now part of the cabinet's incident.
            for (id, member) in cabinets where member == cabinet && detectors[id]?.isRaised(.darkAtNight) == true {
                folded.insert(id)
                if let merged = book.apply(FaultChange(kind: .darkAtNight, raised: false), to: .lamp(id), atMilliseconds: now) {
                    result.append(merged)
                }
            }
        } else {
            cabinetBackAt[cabinet] = now
        }
        return result
    }

    /// Time passing for one lamp, with what it should be doing now.
    public mutating func tick(_ lamp: LampID, expected: FaultExpectation, atMilliseconds now: UInt64) -> [IncidentRecord] {
        guard var detector = detectors[lamp] else { return [] }
        let changes = detector.tick(expected: expected, thresholds: thresholds, atMilliseconds: now)
        detectors[lamp] = detector
        if !folded.isEmpty, folded.contains(lamp), detector.isRaised(.darkAtNight), let cabinet = cabinets[lamp], !watch.covers(cabinet: cabinet),
            let back = cabinetBackAt[cabinet], now >= back + thresholds.holdSeconds * 1000
        {
            folded.remove(lamp)
            let own = FaultChange(kind: .darkAtNight, raised: true, detail: "still dark after its cabinet \(cabinet) came back")
            return book.apply(own, to: .lamp(lamp), atMilliseconds: now).map { [$0] } ?? []
        }
        return changes.isEmpty ? [] : apply(changes, of: lamp, atMilliseconds: now)
    }

    /// An operator acknowledges an incident (see ``IncidentBook/acknowledge(_:by:atMilliseconds:)``).
    public mutating func acknowledge(_ id: Int64, by actor: String, atMilliseconds now: UInt64) -> IncidentRecord? {
        book.acknowledge(id, by: actor, atMilliseconds: now)
    }

    /// An operator resolves an incident (see ``IncidentBook/resolve(_:by:atMilliseconds:)``).
    public mutating func resolve(_ id: Int64, by actor: String, atMilliseconds now: UInt64) -> IncidentRecord? {
        book.resolve(id, by: actor, atMilliseconds: now)
    }

    /// An operator's change that could not be stored is undone (see ``IncidentBook/restore(_:)``).
    public mutating func restore(_ incident: IncidentRecord) {
        book.restore(incident)
    }

    /// One pass over a snapshot of the fleet (the controller runs it on a timer, off the
    /// status-report path): links that went up or down and reports that arrived since the
    /// last pass are fed to the detectors, with what each lamp should be doing now: its
    /// command's level, else its program's (a switch point's `graceSeconds` unsettled, as
    /// ``ProgramJudge`` does); lamps with neither, or removed, are not judged. Judged on the
    /// controller's clock.
    public mutating func pass(_ model: FleetModel, graceSeconds: Int64 = 180, atMilliseconds now: UInt64) -> [IncidentRecord] {
        var samples: [LampSample] = []
        model.lampSamples(into: &samples)
        return pass(samples, graceSeconds: graceSeconds, atMilliseconds: now)
    }

    /// One pass over ``LampSample``s the caller took from the fleet (see
    /// ``FleetModel/lampSamples(into:)``): the same pass, without a copy of the fleet model.
    public mutating func pass(_ samples: [LampSample], graceSeconds: Int64 = 180, atMilliseconds now: UInt64) -> [IncidentRecord] {
        var result: [IncidentRecord] = []
        let seconds = Int64(now / 1000)
        // Every lamp in its cabinet first: the cabinet rule needs each cabinet's whole size.
        for sample in samples where cabinets[sample.id] != (sample.removed ? nil : sample.cabinet) {
            setCabinet(sample.removed ? nil : sample.cabinet, of: sample.id)
        }
        for sample in samples where !sample.removed {
            let id = sample.id
            let before = seen[id] ?? (online: false, reportedAt: 0)
            seen[id] = (sample.online, sample.reportedAtMilliseconds)
            if before.online != sample.online {
                result += link(id, up: sample.online, atMilliseconds: now)
            } else if !sample.online && sample.lastSeenMilliseconds > lastPass {
                // Up and down again between two passes (a trip right after the lamps linked).
                result += link(id, up: true, atMilliseconds: sample.lastSeenMilliseconds)
                result += link(id, up: false, atMilliseconds: now)
            }
            let evaluator = sample.evaluator
            let sunUp = evaluator.map { ProgramJudge.sunUp(at: seconds, place: $0.place) } ?? false
            var expected: FaultExpectation
            if let level = sample.intent.level(atMilliseconds: now) {
                expected = FaultExpectation(level: level.permille, sunUp: sunUp, settled: sample.converged)
            } else if let evaluator {
                let (level, point) = evaluator.level(at: seconds)
                expected = FaultExpectation(level: level, sunUp: sunUp, settled: point.map { seconds - $0.instant >= graceSeconds } ?? true)
            } else {
                continue
            }
            if let status = sample.status, sample.reportedAtMilliseconds > before.reportedAt {
                if status.isFading { expected.settled = false }
                // A lamp that cannot dim shows any level above 0 at full.
                if !sample.dims && expected.level > 0 { expected.level = 1000 }
                result += report(
                    id, lit: status.isLit, watts: Double(status.powerDeciwatts) / 10, wattage: sample.wattage, expected: expected,
                    atMilliseconds: sample.reportedAtMilliseconds)
            }
            result += tick(id, expected: expected, atMilliseconds: now)
        }
        lastPass = now
        return result
    }

    private mutating func apply(_ changes: [FaultChange], of lamp: LampID, atMilliseconds now: UInt64) -> [IncidentRecord] {
        var result: [IncidentRecord] = []
        for change in changes {
            if change.kind == .darkAtNight {
                if change.raised && watch.covers(cabinet: cabinets[lamp]) {
                    folded.insert(lamp)
                    continue
                }
                if !change.raised { folded.remove(lamp) }
            }
            if let incident = book.apply(change, to: .lamp(lamp), atMilliseconds: now) { result.append(incident) }
        }
        return result
    }
}
