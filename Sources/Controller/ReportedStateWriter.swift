import CHeap
import FleetCore
import LampProtocol
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Collects high-rate state (status reports, applied versions, link events) in memory and
/// writes it to the store in batches, so 20,000 lamps reporting cost a few transactions, not
/// 20,000. Lamps' own events do not come here: they are acknowledged only once durable, by
/// ``LampEventCommitter``.
///
/// The controller's events (online, offline, refusals) are written every ``eventInterval``
/// (1 s); a batch whose write fails is kept for the next. Lamps' reported state every
/// ``reportedInterval`` (5 s), because it is telemetry: the API serves it from memory, a lamp
/// states its applied versions again in every hello, and a lamp reported twice within the
/// interval (a fleet command, then its status) is written once.
///
/// Bounded: at most ``maximumPendingEvents`` events wait for the next write; beyond that the
/// oldest are dropped and counted (the lamps' current state is never dropped: it is a set of
/// lamp ids, at most one entry per lamp).
///
/// Lamps' hourly energy (``EnergyMeter``, kept in the fleet model: an open hour per lamp
/// and the hours lamps left) is written with the reported state, as one batch of upserts
/// that add to the stored day (one per lamp-day). Energy whose write failed waits for the
/// next, at most ``FleetModel/maximumHeldEnergyHours`` lamp-hours of it; beyond that the
/// oldest is dropped and counted (`lamplighter_energy_dropped_lamp_hours_total`).
public final class ReportedStateWriter: Service, Sendable {
    struct Pending {
        /// Slots of lamps whose reported state changed, each once (`isDirty` dedupes).
        var dirty: [Int] = []
        var isDirty: [Bool] = []
        var events: [EventRecord] = []
        var droppedEvents = 0
    }

    /// The most events held between two writes.
    public let maximumPendingEvents: Int
    /// Time between event writes.
    public let eventInterval: Duration
    /// Time between reported-state writes.
    public let reportedInterval: Duration
    private let store: any FleetStoring
    private let metrics: ControllerMetrics
    private let fleet: FleetState
    private let logger: Logger
    private let pending = Mutex(Pending())
    /// Increases with every reported-state write; a link that already marked its lamp dirty
    /// in the current generation skips the lock (status bursts mark once, not per frame).
    private let generation = Atomic<UInt64>(0)

    /// A writer for `store`.
    public init(
        store: any FleetStoring, fleet: FleetState, metrics: ControllerMetrics, eventInterval: Duration = .seconds(1),
        reportedInterval: Duration = .seconds(5), maximumPendingEvents: Int = 100_000, logger: Logger
    ) {
        self.metrics = metrics
        self.store = store
        self.fleet = fleet
        self.eventInterval = eventInterval
        self.reportedInterval = reportedInterval
        self.maximumPendingEvents = maximumPendingEvents
        self.logger = logger
    }

    /// Handshakes ended since the daemon started (read by ``trimIfChurned(_:)`` every 5 s).
    private let handshakesEnded = Atomic<Int>(0)

    /// A handshake ended, the lamp welcomed or refused (counts towards the next
    /// ``trimIfChurned(_:)``).
    func handshakeEnded() {
        handshakesEnded.wrappingAdd(1, ordering: .relaxed)
    }

    /// Every handshake allocates and frees HTTP-upgrade state; glibc keeps freed memory in its
    /// arenas, so after a connection storm (a controller restart: every lamp at once) the
    /// daemon holds about 0.5 KiB per link it no longer uses (measured: 4.1 to 3.65 KiB per
    /// link at 10,000 links), and after a flood of failed hellos about 2 KiB per hello
    /// (BENCHMARKS.md, "A flood of failed hellos"). After many handshakes, hand it back once
    /// the storm is over (``ChurnTrimPolicy``).
    func trimIfChurned(_ trimPolicy: inout ChurnTrimPolicy) {
        guard trimPolicy.shouldTrim(handshakesEnded: handshakesEnded.load(ordering: .relaxed)) else { return }
        _ = lamplighter_heap_trim()
    }

    /// Marks the lamp dirty unless the caller did already in this generation; returns the
    /// generation to remember.
    func markDirty(_ slot: Int, ifNotMarkedIn marked: UInt64) -> UInt64 {
        let current = generation.load(ordering: .acquiring)
        if marked != current {
            markDirty(slot)
        }
        return current
    }

    /// The reported state of the lamp in `slot` changed.
    func markDirty(_ slot: Int) {
        pending.withLock { pending in
            if slot >= pending.isDirty.count {
                pending.isDirty.append(contentsOf: repeatElement(false, count: max(slot + 1, pending.isDirty.count * 2) - pending.isDirty.count))
            }
            guard !pending.isDirty[slot] else { return }
            pending.isDirty[slot] = true
            pending.dirty.append(slot)
        }
    }

    /// Something happened to a lamp.
    func append(_ event: EventRecord) {
        pending.withLock { pending in
            if pending.events.count >= maximumPendingEvents {
                pending.events.removeFirst(pending.events.count - maximumPendingEvents + 1)
                pending.droppedEvents += 1
            }
            pending.events.append(event)
        }
    }

    /// Writes the pending events, and the pending reported states too when `includingReported`.
    public func flush(includingReported: Bool = true) async {
        let taken = pending.withLock { pending in
            var taken = Pending()
            swap(&taken.events, &pending.events)
            swap(&taken.droppedEvents, &pending.droppedEvents)
            if includingReported {
                swap(&taken.dirty, &pending.dirty)
                for slot in taken.dirty {
                    pending.isDirty[slot] = false
                }
                // Under the lock, so a link that reads the old generation has its mark
                // either taken now or kept for the next write.
                generation.wrappingAdd(1, ordering: .releasing)
            }
            return taken
        }
        if taken.droppedEvents > 0 {
            logger.warning("event buffer full: dropped events", metadata: ["events.dropped": "\(taken.droppedEvents)"])
        }
        let clock = ContinuousClock()
        let started = clock.now
        do {
            try await store.saveReported(fleet.reportedRecords(taken.dirty))
        } catch {
            logger.error("writing reported state failed: kept for the next write", metadata: ["error": "\(error)"])
            for slot in taken.dirty { markDirty(slot) }
        }
        if includingReported {
            let energy = fleet.withModel { $0.takeEnergy() }
            do {
                try await store.addEnergy(energy)
            } catch {
                logger.error(
                    "writing energy failed: kept for the next write", metadata: ["energy.hours": "\(energy.count)", "error": "\(error)"])
                let dropped = fleet.withModel { $0.returnEnergy(energy) }
                if dropped.lampHours > 0 {
                    metrics.energyDropped.increment(by: dropped.lampHours)
                    logger.error(
                        "energy waiting for the store beyond its bound: dropped the oldest",
                        metadata: ["energy.dropped.hours": "\(dropped.lampHours)", "energy.dropped.wh": "\(dropped.usedWh)"])
                }
            }
        }
        do {
            try await store.appendEvents(taken.events)
        } catch {
            logger.error(
                "writing events failed: kept for the next write", metadata: ["events.count": "\(taken.events.count)", "error": "\(error)"])
            putBack(taken.events)
        }
        if !taken.dirty.isEmpty || !taken.events.isEmpty {
            metrics.storeBatchWrite.record(duration: clock.now - started)
        }
    }

    /// Events whose write failed go back ahead of the newer ones, within the bound (the
    /// oldest beyond it are dropped and counted, as in ``append(_:)``).
    private func putBack(_ events: [EventRecord]) {
        pending.withLock { pending in
            pending.events = events + pending.events
            let excess = pending.events.count - maximumPendingEvents
            if excess > 0 {
                pending.events.removeFirst(excess)
                pending.droppedEvents += excess
            }
        }
    }

    /// Writes every interval until shutdown, then everything once more.
    public func run() async throws {
        let clock = ContinuousClock()
        var nextReported = clock.now + reportedInterval
        var trimPolicy = ChurnTrimPolicy()
        // Ends on graceful shutdown and on cancellation (another service failed): a
        // cancelled sleep throws at once, so looping on after it would spin.
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await Task.sleep(for: eventInterval)
            } catch {
                break
            }
            let dueReported = clock.now >= nextReported
            if dueReported { nextReported = clock.now + reportedInterval }
            await flush(includingReported: dueReported)
            if dueReported { trimIfChurned(&trimPolicy) }
        }
        await flush()
    }
}

/// When the daemon hands memory freed by a connection storm back to the system: looked at
/// every 5 s with the count of handshakes ended so far.
///
/// It trims once at least ``handshakesPerTrim`` handshakes ended since the last trim and none
/// ended in the last interval: the storm is over, so what it freed is all free. Trimming in
/// the middle of a storm (the rule before) left the garbage of its tail in place whenever that
/// tail was shorter than the threshold, so the same fleet settled at RSS that differed by
/// 2 KiB per link from one run to the next (issue 13). A storm that never settles is trimmed
/// every ``handshakesPerForcedTrim`` handshakes.
struct ChurnTrimPolicy {
    /// Handshakes after which a quiet interval trims.
    static let handshakesPerTrim = 1000
    /// Handshakes after which the policy trims even while they go on.
    static let handshakesPerForcedTrim = 20_000

    /// The count at the last trim.
    private var atLastTrim = 0
    /// The count at the last look.
    private var atLastLook = 0

    /// Whether to trim now, given how many handshakes have ended in all.
    mutating func shouldTrim(handshakesEnded count: Int) -> Bool {
        defer { atLastLook = count }
        let sinceTrim = count &- atLastTrim
        let settled = count == atLastLook
        guard sinceTrim >= ChurnTrimPolicy.handshakesPerForcedTrim || (sinceTrim >= ChurnTrimPolicy.handshakesPerTrim && settled) else {
            return false
        }
        atLastTrim = count
        return true
    }
}
