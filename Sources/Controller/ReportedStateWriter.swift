import FleetStore
import LampProtocol
import Logging
import ServiceLifecycle
import Synchronization

/// Collects high-rate state (status reports, applied versions, link events) in memory and
/// writes it to the store in one transaction per interval, so 20,000 lamps reporting cost a
/// few writes a second, not 20,000.
///
/// Bounded: at most ``maximumPendingEvents`` events wait for the next write; beyond that the
/// oldest are dropped and counted (the lamps' current state is never dropped: it is a set of
/// lamp ids, at most one entry per lamp).
public final class ReportedStateWriter: Service, Sendable {
    struct Pending {
        var dirty: Set<LampID> = []
        var events: [EventRecord] = []
        var droppedEvents = 0
    }

    /// The most events held between two writes.
    public let maximumPendingEvents: Int
    /// Time between writes.
    public let interval: Duration
    private let store: FleetStore
    private let fleet: FleetState
    private let logger: Logger
    private let pending = Mutex(Pending())

    /// A writer for `store`, flushing every `interval`.
    public init(store: FleetStore, fleet: FleetState, interval: Duration = .seconds(1), maximumPendingEvents: Int = 100_000, logger: Logger) {
        self.store = store
        self.fleet = fleet
        self.interval = interval
        self.maximumPendingEvents = maximumPendingEvents
        self.logger = logger
    }

    /// The lamp's reported state changed.
    func markDirty(_ id: LampID) {
        pending.withLock { _ = $0.dirty.insert(id) }
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

    /// Writes everything pending now.
    public func flush() {
        let taken = pending.withLock { pending in
            let taken = pending
            pending = Pending()
            return taken
        }
        if taken.droppedEvents > 0 {
            logger.warning("event buffer full: dropped events", metadata: ["events.dropped": "\(taken.droppedEvents)"])
        }
        do {
            try store.saveReported(fleet.reportedRecords(taken.dirty))
            try store.appendEvents(taken.events)
        } catch {
            logger.error("writing reported state failed", metadata: ["error": "\(error)"])
        }
    }

    /// Flushes every interval until shutdown, then once more.
    public func run() async throws {
        while !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            flush()
        }
        flush()
    }
}
