import LampProtocol
import LightingPrograms

/// What the watchers (the fault detectors, ``FaultMonitor``, and the program judge,
/// ``ProgramJudge``) read of one lamp, taken from the fleet model under its lock into an array
/// the watcher keeps: a pass over these copies no fleet model. A copy of the model (the
/// watchers took one before) made the next status report copy the whole lamps array under the
/// lock, every pass (issue 13: 0.7 KiB of RSS per link at 10,000 lamps, and an 8 MB copy on
/// the status path every 5 s).
public struct LampSample: Sendable {
    public var id: LampID
    public var removed: Bool
    public var cabinet: String?
    public var online: Bool
    public var reportedAtMilliseconds: UInt64
    public var lastSeenMilliseconds: UInt64
    /// What the lamp was told (its command, or its program).
    public var intent: ControlIntent
    /// Whether the lamp applied its desired control version.
    public var converged: Bool
    public var status: StatusReport?
    public var dims: Bool
    /// Whether the lamp runs programs itself (SPEC.md §5.2); nil before its hello said.
    public var runsPrograms: Bool?
    public var wattage: Double?
    /// The name of the program it follows, if any.
    public var program: String?
    /// Its program at its place, if it follows one.
    public var evaluator: ProgramEvaluator?
}

extension FleetModel {
    /// Every lamp's ``LampSample``, into `samples` (emptied first, its capacity kept: a caller
    /// that keeps the array allocates nothing per pass once it has grown).
    public func lampSamples(into samples: inout [LampSample]) {
        samples.removeAll(keepingCapacity: true)
        samples.reserveCapacity(lamps.count)
        for entry in lamps {
            samples.append(
                LampSample(
                    id: entry.record.id, removed: entry.removed, cabinet: entry.record.cabinet, online: entry.online,
                    reportedAtMilliseconds: entry.reportedAtMilliseconds, lastSeenMilliseconds: entry.lastSeenMilliseconds,
                    intent: entry.desired.control.intent, converged: entry.isConverged, status: entry.status, dims: entry.dims,
                    runsPrograms: entry.runsPrograms, wattage: entry.record.wattage, program: entry.desired.program.name,
                    evaluator: entry.removed ? nil : programEvaluator(for: entry)))
        }
    }
}
