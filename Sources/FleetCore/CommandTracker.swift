import LampProtocol

/// How far a command has got: counted from the lamps' answers, not from a scan.
public struct CommandProgressSnapshot: Sendable, Hashable {
    /// The command.
    public var id: Int64
    /// The lamps it addressed.
    public var target: CommandTarget
    /// What it does.
    public var action: CommandAction
    /// When it was accepted, Unix ms.
    public var createdAtMilliseconds: UInt64
    /// Lamps addressed.
    public var total: Int
    /// Lamps that applied it (or a newer version).
    public var applied: Int
    /// Lamps that refused it.
    public var failed: Int
    /// Lamps without an answer that have no link now (pending delivery, not refused).
    public var offline: Int
    /// Up to 100 lamps that refused it.
    public var failedLamps: [String]
    /// Time from acceptance to each lamp's answer, for the lamps that answered during this run.
    public var latenciesMilliseconds: [UInt64]

    /// A progress report.
    public init(
        id: Int64, target: CommandTarget, action: CommandAction, createdAtMilliseconds: UInt64, total: Int, applied: Int, failed: Int,
        offline: Int, failedLamps: [String], latenciesMilliseconds: [UInt64]
    ) {
        self.id = id
        self.target = target
        self.action = action
        self.createdAtMilliseconds = createdAtMilliseconds
        self.total = total
        self.applied = applied
        self.failed = failed
        self.offline = offline
        self.failedLamps = failedLamps
        self.latenciesMilliseconds = latenciesMilliseconds
    }

    /// Lamps without an answer, linked or not.
    public var pending: Int { total - applied - failed }
}

/// Counts each recent command's answers as they arrive, so progress and `command.applied`
/// come from acks (and from the reports that prove a version), not from polling the fleet.
///
/// A value with no I/O, kept inside ``FleetModel`` so that counts and lamps change under the
/// same lock. Per answer it costs a lookup in each command still waiting for lamps (usually
/// one or two).
public struct CommandTracker: Sendable {
    enum LampState: UInt8, Sendable {
        /// Waiting for the lamp's answer.
        case pending
        /// Applied, or refused: counted.
        case answered
        /// A once request the lamp can never get (offline when it was sent, or the link closed).
        case missed
    }

    struct Tracked: Sendable {
        var snapshot: CommandProgressSnapshot
        /// The control version it set; 0 for once requests (identify, reboot).
        var version: UInt32
        var lamps: [Int: LampState]
        var pendingLinked: Int
        var lastPublishedMilliseconds: UInt64 = 0
        var dirty = false
        var settledSent = false
    }

    /// How many commands are tracked; older ones fall back to a scan of their target.
    public static let limit = 64
    /// Least time between two `command.progress` events of one command.
    public static let publishIntervalMilliseconds: UInt64 = 250

    private var commands: [Int64: Tracked] = [:]
    /// Commands that still wait for a linked lamp (no `command.applied` yet), oldest first.
    private var waiting: [Int64] = []
    /// Commands that some lamp has not answered yet, linked or not: a lamp that links later
    /// and applies one is still counted. Bounded by ``limit``.
    private var open: [Int64] = []
    /// Events to publish, taken by ``takeEvents()``.
    private var outbox: [FleetEvent] = []

    /// An empty tracker.
    public init() {}

    /// Whether any command waits for answers (checked before doing anything per answer).
    public var isWaiting: Bool { !open.isEmpty }

    /// Whether events wait to be taken.
    public var hasEvents: Bool { !outbox.isEmpty }

    /// Starts counting a command sent to `slots`; `linked` says which have a link now.
    mutating func track(
        id: Int64, target: CommandTarget, action: CommandAction, version: UInt32, slots: [Int], atMilliseconds now: UInt64,
        linked: (Int) -> Bool, alreadyApplied: (Int) -> Bool
    ) {
        var lamps: [Int: LampState] = [:]
        lamps.reserveCapacity(slots.count)
        var snapshot = CommandProgressSnapshot(
            id: id, target: target, action: action, createdAtMilliseconds: now, total: slots.count, applied: 0, failed: 0,
            offline: 0, failedLamps: [], latenciesMilliseconds: [])
        var pendingLinked = 0
        for slot in slots {
            if version > 0 && alreadyApplied(slot) {
                lamps[slot] = .answered
                snapshot.applied += 1
            } else if linked(slot) {
                lamps[slot] = .pending
                pendingLinked += 1
            } else {
                lamps[slot] = version > 0 ? .pending : .missed
                snapshot.offline += 1
            }
        }
        snapshot.latenciesMilliseconds.reserveCapacity(pendingLinked)
        commands[id] = Tracked(snapshot: snapshot, version: version, lamps: lamps, pendingLinked: pendingLinked)
        waiting.append(id)
        open.append(id)
        if commands.count > CommandTracker.limit, let oldest = commands.keys.min() {
            commands[oldest] = nil
            waiting.removeAll { $0 == oldest }
            open.removeAll { $0 == oldest }
        }
        closeIfAnswered(id)
        settleIfDone(id, atMilliseconds: now)
    }

    /// A command's progress, if it is tracked.
    public func snapshot(_ id: Int64) -> CommandProgressSnapshot? { commands[id]?.snapshot }

    /// The lamp in `slot` applied control `version` (ack, or a report that proves it).
    mutating func controlApplied(_ slot: Int, version: UInt32, atMilliseconds now: UInt64) {
        for id in open {
            guard let wanted = pendingVersion(id, slot: slot), wanted > 0, wanted <= version else { continue }
            answer(id, slot: slot, applied: true, lampID: nil, atMilliseconds: now)
        }
    }

    /// The lamp in `slot` refused control `version`.
    mutating func controlRefused(_ slot: Int, version: UInt32, lampID: LampID, atMilliseconds now: UInt64) {
        for id in open {
            guard pendingVersion(id, slot: slot) == version else { continue }
            answer(id, slot: slot, applied: false, lampID: lampID, atMilliseconds: now)
        }
    }

    /// The lamp in `slot` answered the once request (identify, reboot) whose ref is `ref`,
    /// the low 32 bits of its command's id.
    mutating func onceAnswered(ref: UInt32, slot: Int, accepted: Bool, lampID: LampID, atMilliseconds now: UInt64) {
        for id in open where UInt32(truncatingIfNeeded: id) == ref && pendingVersion(id, slot: slot) == 0 {
            answer(id, slot: slot, applied: accepted, lampID: lampID, atMilliseconds: now)
        }
    }

    /// The lamp in `slot` lost its link: its pending commands wait for delivery (a once
    /// request is missed for good). `stillLinked`: another controller holds its link, so
    /// only once requests are lost; desired state still waits for its relayed ack.
    mutating func linkDown(_ slot: Int, stillLinked: Bool = false, atMilliseconds now: UInt64) {
        for id in open {
            let missed = withTracked(id) { tracked -> Bool in
                guard tracked.lamps[slot] == .pending, !(stillLinked && tracked.version > 0) else { return false }
                tracked.pendingLinked -= 1
                tracked.snapshot.offline += 1
                if tracked.version == 0 { tracked.lamps[slot] = .missed }
                tracked.dirty = true
                return true
            }
            if missed == true {
                settleIfDone(id, atMilliseconds: now)
                closeIfAnswered(id)
            }
        }
    }

    /// The lamp in `slot` linked again: commands it has not answered wait for it again.
    /// `alreadyLinked`: another controller held its link, so it already counted as linked.
    mutating func linkUp(_ slot: Int, appliedVersion: UInt32, alreadyLinked: Bool = false, atMilliseconds now: UInt64) {
        for id in open where !alreadyLinked {
            withTracked(id) { tracked in
                guard tracked.version > 0, tracked.lamps[slot] == .pending else { return }
                tracked.pendingLinked += 1
                tracked.snapshot.offline -= 1
            }
        }
        if appliedVersion > 0 { controlApplied(slot, version: appliedVersion, atMilliseconds: now) }
    }

    /// The version command `id` waits for from the lamp in `slot`, or nil if it waits for
    /// nothing from it. (Reads in place: binding the tracked value to a constant while the
    /// table changes would copy its table of lamps.)
    private func pendingVersion(_ id: Int64, slot: Int) -> UInt32? {
        commands[id]?.lamps[slot] == .pending ? commands[id]?.version : nil
    }

    /// Runs `body` on a tracked command in place (a copy would copy its table of lamps).
    @discardableResult
    private mutating func withTracked<Result>(_ id: Int64, _ body: (inout Tracked) -> Result) -> Result? {
        guard commands[id] != nil else { return nil }
        // The entry exists: checked just above.
        return body(&commands[id]!)
    }

    private mutating func answer(_ id: Int64, slot: Int, applied: Bool, lampID: LampID?, atMilliseconds now: UInt64) {
        withTracked(id) { tracked in
            tracked.lamps[slot] = .answered
            tracked.pendingLinked -= 1
            if applied {
                tracked.snapshot.applied += 1
                if now >= tracked.snapshot.createdAtMilliseconds {
                    tracked.snapshot.latenciesMilliseconds.append(now - tracked.snapshot.createdAtMilliseconds)
                }
            } else {
                tracked.snapshot.failed += 1
                if let lampID, tracked.snapshot.failedLamps.count < 100 {
                    tracked.snapshot.failedLamps.append(lampID.value)
                }
            }
            tracked.dirty = true
        }
        if !settleIfDone(id, atMilliseconds: now) {
            publishIfDue(id, atMilliseconds: now)
        }
        closeIfAnswered(id)
    }

    /// Stops scanning a command once no lamp can still answer it.
    private mutating func closeIfAnswered(_ id: Int64) {
        guard let tracked = commands[id] else { return }
        let waitingForSomeone = tracked.snapshot.applied + tracked.snapshot.failed + (tracked.version == 0 ? tracked.snapshot.offline : 0)
            < tracked.snapshot.total
        if !waitingForSomeone { open.removeAll { $0 == id } }
    }

    /// Publishes `command.applied` once every linked lamp answered; returns whether it did.
    @discardableResult
    private mutating func settleIfDone(_ id: Int64, atMilliseconds now: UInt64) -> Bool {
        let settled = withTracked(id) { tracked -> CommandProgressSnapshot? in
            guard tracked.pendingLinked <= 0, !tracked.settledSent else { return nil }
            tracked.settledSent = true
            tracked.dirty = false
            tracked.lastPublishedMilliseconds = now
            tracked.snapshot.failedLamps.sort()
            return tracked.snapshot
        }
        guard let snapshot = settled ?? nil else { return false }
        waiting.removeAll { $0 == id }
        outbox.append(.command(snapshot, final: true))
        return true
    }

    private mutating func publishIfDue(_ id: Int64, atMilliseconds now: UInt64) {
        let due = withTracked(id) { tracked -> CommandProgressSnapshot? in
            guard tracked.dirty, !tracked.settledSent, now >= tracked.lastPublishedMilliseconds + CommandTracker.publishIntervalMilliseconds
            else { return nil }
            tracked.dirty = false
            tracked.lastPublishedMilliseconds = now
            return tracked.snapshot
        }
        if let snapshot = due ?? nil {
            outbox.append(.command(snapshot, final: false))
        }
    }

    /// Publishes the progress that the rate limit held back (called a few times a second).
    public mutating func publishDue(atMilliseconds now: UInt64) {
        for id in waiting {
            publishIfDue(id, atMilliseconds: now)
        }
    }

    /// The events to publish, oldest first; the outbox is emptied.
    public mutating func takeEvents() -> [FleetEvent] {
        defer { outbox.removeAll() }
        return outbox
    }
}
