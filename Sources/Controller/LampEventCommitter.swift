import FleetCore
import LampProtocol
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Makes lamps' events durable before they are acknowledged (SPEC.md §7.2: a lamp forgets an
/// event once it is acknowledged), cheaply: events are collected for at most
/// ``commitInterval`` after the first one arrives and written in one transaction (a group
/// commit), and each link is answered after the commit, on its own event loop.
///
/// - Stored (or stored before: a duplicate is skipped by the store's key): the lamp gets its
///   ack, if the link it came on is still up. A new event is published to the live stream.
/// - Not stored (the write failed): the lamp gets `nack(event, busy)` and keeps the event;
///   logged and counted, never dropped in silence.
/// - More than ``maximumPending`` waiting: refused with busy at once.
///
/// Status reports do not come here: they stay batched in ``ReportedStateWriter`` (telemetry a
/// lamp repeats), so the hot path of the fleet is untouched.
public final class LampEventCommitter: Service, Sendable {
    /// The longest an event waits before its group commit starts: 25 ms keeps an event's ack
    /// within a few tens of milliseconds while a burst (every lamp's power-up after an outage)
    /// is still a handful of transactions a second.
    public static let defaultCommitInterval: Duration = .milliseconds(25)
    /// The most events waiting for a commit: 65,536 (about 10 MiB) is more than a fleet of
    /// 20,000 lamps sends in one burst; beyond it, the store is not keeping up, and lamps are
    /// told busy and keep their events.
    public static let defaultMaximumPending = 65_536

    /// What became of an event.
    public enum Outcome: Sendable {
        /// It is durable (now, or from before): acknowledge it.
        case stored
        /// It could not be stored: refuse it with busy.
        case refused
    }

    struct Item {
        var record: EventRecord
        var event: FleetEvent
        var slot: Int?
        var answer: @Sendable (Outcome) -> Void
    }

    struct State {
        var items: [Item] = []
        /// The doorbell was rung for the items waiting (once per batch).
        var rung = false
    }

    /// Time from the first waiting event to the start of its commit.
    public let commitInterval: Duration
    /// The most events waiting.
    public let maximumPending: Int
    private let store: any FleetStoring
    private let events: FleetEvents
    private let counters: GatewayCounters
    private let metrics: ControllerMetrics
    private let logger: Logger
    private let state = Mutex(State())
    private let doorbell: AsyncStream<Void>
    private let ring: AsyncStream<Void>.Continuation

    /// A committer writing to `store`, publishing through `events`.
    init(
        store: any FleetStoring, events: FleetEvents, counters: GatewayCounters, metrics: ControllerMetrics,
        commitInterval: Duration = LampEventCommitter.defaultCommitInterval,
        maximumPending: Int = LampEventCommitter.defaultMaximumPending, logger: Logger
    ) {
        self.store = store
        self.events = events
        self.counters = counters
        self.metrics = metrics
        self.commitInterval = commitInterval
        self.maximumPending = maximumPending
        self.logger = logger
        let (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.doorbell = doorbell
        self.ring = ring
    }

    /// Events waiting for a commit.
    public var pendingCount: Int { state.withLock { $0.items.count } }

    /// Queues a lamp's event (received at `now`) for the next commit; `answer` is called once,
    /// from the committing task, when it is durable or refused. Returns false, and never
    /// calls `answer`, when the queue is full: the caller refuses the event at once.
    func submit(
        _ event: FleetEvent, slot: Int?, atMilliseconds now: UInt64, answer: @escaping @Sendable (Outcome) -> Void
    ) -> Bool {
        guard let record = event.record(atMilliseconds: now) else { return false }
        let ringNow = state.withLock { state -> Bool? in
            guard state.items.count < maximumPending else { return nil }
            state.items.append(Item(record: record, event: event, slot: slot, answer: answer))
            defer { state.rung = true }
            return !state.rung
        }
        guard let ringNow else {
            counters.eventsRefused.add()
            return false
        }
        if ringNow { ring.yield() }
        return true
    }

    /// Writes every waiting event in one transaction and answers each; a failed write
    /// refuses them all (busy). Called by ``run()`` and by tests.
    public func commit() async {
        let items = state.withLock { state in
            defer {
                state.items = []
                state.rung = false
            }
            return state.items
        }
        guard !items.isEmpty else { return }
        let clock = ContinuousClock()
        let started = clock.now
        let stored: [Bool]
        do {
            stored = try await store.appendEvents(items.map(\.record))
        } catch {
            counters.eventsRefused.add(items.count)
            logger.error(
                "storing lamp events failed: refused with busy, the lamps keep them",
                metadata: ["events.count": "\(items.count)", "error": "\(error)"])
            for item in items { item.answer(.refused) }
            return
        }
        metrics.storeEventCommit.record(duration: clock.now - started)
        for (item, isNew) in zip(items, stored) {
            if isNew {
                counters.eventsStored.add()
                events.publish(item.event, slot: item.slot, atMilliseconds: item.record.atMilliseconds)
            } else {
                counters.eventsDuplicate.add()
            }
            item.answer(.stored)
        }
    }

    /// Commits ``commitInterval`` after the first of each batch of events arrives, until
    /// shutdown; then commits what is left.
    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in doorbell {
                // A cancelled sleep (another service failed) ends early: commit at once.
                try? await Task.sleep(for: commitInterval)
                await commit()
            }
        } onGracefulShutdown: {
            self.ring.finish()
        }
        await commit()
    }
}
