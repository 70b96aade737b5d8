import FleetCore
import LampProtocol
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Runs the fleet's ``FaultMonitor`` every `interval` over a snapshot of the fleet (never on
/// the status-report path) and stores the incidents it opens and resolves, one batch a pass,
/// from this service's task (not an event loop). Operators acknowledge and resolve through it.
public final class FaultWatch: Service, Sendable {
    let fleet: FleetState
    let store: any FleetStoring
    let clock: any FleetClock
    let logger: Logger
    /// Where stored incidents are announced (the live stream, webhooks); nil in unit tests that need no stream.
    let events: FleetEvents?
    let thresholds: FaultThresholds
    /// Time between passes.
    let interval: Duration
    /// The monitor, once the stored unresolved incidents are loaded (nil before).
    private let monitor = Mutex<FaultMonitor?>(nil)
    /// What the detectors read of each lamp.
    private let sampler: LampSampler
    private let opened = Counter(label: "lamplighter_incidents_opened_total")
    private let resolved = Counter(label: "lamplighter_incidents_resolved_total")

    init(
        fleet: FleetState, store: any FleetStoring, thresholds: FaultThresholds, interval: Duration = .seconds(5), clock: any FleetClock,
        events: FleetEvents? = nil, logger: Logger
    ) {
        self.events = events
        self.fleet = fleet
        self.sampler = LampSampler(fleet: fleet)
        self.store = store
        self.thresholds = thresholds
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    /// Loads the unresolved incidents (once; later calls do nothing).
    public func start() async throws {
        guard monitor.withLock({ $0 == nil }) else { return }
        let (incidents, highest) = try await store.unresolvedIncidents()
        let now = clock.nowMilliseconds()
        let lamps = fleet.withModel { model in model.lamps.filter { !$0.removed }.map { (id: $0.record.id, cabinet: $0.record.cabinet) } }
        let loaded = FaultMonitor(thresholds: thresholds, lamps: lamps, incidents: incidents, highestID: highest, atMilliseconds: now)
        monitor.withLock { if $0 == nil { $0 = loaded } }
    }

    public func run() async throws {
        try await start()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            } catch {
                break
            }
            do {
                try await check()
            } catch {
                // The incidents stay in memory; the next change of each is stored with it.
                logger.error("storing incidents failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// One pass over the fleet; stores and returns the incidents opened or resolved.
    @discardableResult
    public func check() async throws -> [IncidentRecord] {
        // The few fields the detectors read, taken under the fleet's lock into a kept array: a
        // copy of the whole model made the next status report copy every lamp under that lock.
        let now = clock.nowMilliseconds()
        let changes = sampler.withSamples { samples in monitor.withLock { $0?.pass(samples, atMilliseconds: now) ?? [] } }
        guard !changes.isEmpty else { return [] }
        try await store.saveIncidents(changes, audit: nil)
        for incident in changes { note(incident) }
        return changes
    }

    /// An operator acknowledges (`resolve` false) or resolves an incident, stored with its
    /// audit entry before the answer; if it cannot be stored, the incident is as it was and
    /// the error goes to the caller. Nil if no unresolved incident has the id.
    func settle(_ id: Int64, resolve: Bool, audit: AuditRecord) async throws -> IncidentRecord? {
        let now = audit.atMilliseconds
        let (previous, changed) = monitor.withLock { monitor -> (IncidentRecord?, IncidentRecord?) in
            let previous = monitor?.book.incident(id: id)
            let changed = resolve ? monitor?.resolve(id, by: audit.actor, atMilliseconds: now) : monitor?.acknowledge(id, by: audit.actor, atMilliseconds: now)
            return (previous, changed)
        }
        guard let changed else { return nil }
        do {
            try await store.saveIncidents([changed], audit: audit)
        } catch {
            if let previous { monitor.withLock { $0?.restore(previous) } }
            throw error
        }
        note(changed)
        return changed
    }

    /// Counts, logs and announces an incident once stored (announced at the time of its change).
    private func note(_ incident: IncidentRecord) {
        let changedAt = incident.resolvedAtMilliseconds ?? incident.acknowledgedAtMilliseconds ?? incident.openedAtMilliseconds
        events?.publish(.incident(incident), atMilliseconds: changedAt)
        var metadata: Logger.Metadata = ["incident.id": "\(incident.id)", "incident.kind": "\(incident.kind.rawValue)"]
        switch incident.subject {
        case .lamp(let id): metadata["lamp.id"] = "\(id)"
        case .cabinet(let name): metadata["cabinet"] = "\(name)"
        }
        switch incident.state {
        case .open:
            opened.increment()
            metadata["detail"] = "\(incident.detail)"
            logger.warning("incident opened", metadata: metadata)
        case .acknowledged:
            metadata["by"] = "\(incident.acknowledgedBy ?? "-")"
            logger.notice("incident acknowledged", metadata: metadata)
        case .resolved:
            resolved.increment()
            metadata["by"] = "\(incident.resolvedBy ?? "-")"
            logger.notice("incident resolved", metadata: metadata)
        }
    }
}
