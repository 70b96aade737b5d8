import FleetCore
import LampAuth
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The controller assembled: the fleet model behind its lock, the store, the writer, the
/// event path, the lamp gateway, the operator service and the background services, wired
/// once, here, for `lamplighterd` and for the in-process tests alike.
public final class FleetController: Sendable {
    /// The fleet model behind its lock.
    public let fleet: FleetState
    /// The durable store.
    public let store: any FleetStoring
    /// The batched writer of reported state and events.
    public let writer: ReportedStateWriter
    /// Lamps' events: durable in group commits before they are acknowledged.
    public let eventCommitter: LampEventCommitter
    /// The live stream's fan-out.
    public let hub: EventHub
    /// The one way events are stored and published.
    public let events: FleetEvents
    /// Delivers events to webhooks (nil: a store without webhook tables).
    public let webhooks: WebhookDispatcher?
    /// The one order of changes to lamps, groups and programs (store and memory together).
    public let mutations: FleetMutations
    /// The lamps' side.
    public let gateway: LampGateway
    /// The operators' side.
    public let service: FleetService
    /// Compares lamps' reports with their programs.
    public let programWatch: ProgramWatch
    /// Finds faults and keeps their incidents.
    public let faultWatch: FaultWatch
    /// Bounds the stored history: throttled failed-auth records, retention.
    public let history: HistoryKeeper
    /// Publishes command progress the rate limit held back.
    let progress: CommandProgressPublisher
    /// This controller's part among several on one database; nil alone (SQLite).
    public let cluster: ClusterLink?
    /// The instruments.
    public let metrics: ControllerMetrics
    /// The clock every part reads.
    public let clock: any FleetClock

    /// A controller over `store`, whose lamps and programs are loaded already into `fleet`.
    public init(
        store: any FleetStoring, fleet: FleetState, fleetKey: FleetKey, olderFleetKeys: [FleetKey] = [], keyFile: String? = nil,
        gateway configuration: GatewayConfiguration,
        programCheckInterval: Duration = .seconds(60), streamBuffer: Int = 4096, history historyLimits: HistoryLimits = HistoryLimits(),
        metrics: ControllerMetrics = ControllerMetrics(), faults: FaultThresholds = FaultThresholds(), webhookLimits: WebhookLimits = WebhookLimits(),
        clock: any FleetClock = SystemClock(), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) {
        self.store = store
        self.fleet = fleet
        self.metrics = metrics
        self.clock = clock
        writer = ReportedStateWriter(store: store, fleet: fleet, metrics: metrics, logger: logger)
        hub = EventHub(bufferLimit: streamBuffer)
        let webhooks = (store as? any WebhookStoring).map {
            WebhookDispatcher(store: $0, fleet: fleet, limits: webhookLimits, clock: clock, group: group, logger: logger)
        }
        self.webhooks = webhooks
        events = FleetEvents(writer: writer, hub: hub, fleet: fleet, webhooks: webhooks)
        let counters = GatewayCounters()
        let mutations = FleetMutations()
        self.mutations = mutations
        eventCommitter = LampEventCommitter(store: store, events: events, counters: counters, metrics: metrics, logger: logger)
        let history = HistoryKeeper(limits: historyLimits, store: store, events: events, clock: clock, logger: logger)
        self.history = history
        let clusterStore = store as? any ClusterStoring & FleetStoring
        let relay = clusterStore == nil ? nil : ClusterOutbox()
        if clusterStore != nil { fleet.withModel { $0.controlVersionsShared = true } }
        gateway = LampGateway(
            configuration: configuration, fleet: fleet, store: store, writer: writer, events: events, history: history,
            eventCommitter: eventCommitter, counters: counters, mutations: mutations, keyRing: FleetKeyRing(current: fleetKey, older: olderFleetKeys), metrics: metrics,
            clock: clock, group: group, clusterOutbox: relay, logger: logger)
        let cluster: ClusterLink?
        if let clusterStore, let relay {
            cluster = ClusterLink(store: clusterStore, fleet: fleet, gateway: gateway, events: events, relay: relay, clock: clock, logger: logger)
        } else {
            cluster = nil
        }
        self.cluster = cluster
        faultWatch = FaultWatch(fleet: fleet, store: store, thresholds: faults, clock: clock, events: events, logger: logger)
        service = FleetService(
            store: store, fleet: fleet, gateway: gateway, events: events, metrics: metrics, clock: clock,
            reportIntervalSeconds: configuration.reportIntervalSeconds, mutations: mutations, keyFile: keyFile, faults: faultWatch,
            cluster: cluster, logger: logger)
        programWatch = ProgramWatch(fleet: fleet, events: events, clock: clock, interval: programCheckInterval, logger: logger)
        progress = CommandProgressPublisher(fleet: fleet, events: events, clock: clock)
    }

    /// The services to run beside the operator API: the webhook dispatcher, the writer, the
    /// event committer, the program watch, the fault watch, the progress publisher, the history
    /// keeper and the lamp gateway. A graceful stop ends them in reverse order: the dispatcher
    /// last, so the `lamp.offline` events of the gateway's closing reach its outbox.
    public var services: [any Service] {
        (webhooks.map { [$0] } ?? []) + [writer, eventCommitter, programWatch, faultWatch, progress, history, gateway]
            + (cluster.map { [$0] } ?? [])
    }
}

/// A few times a second, publishes the `command.progress` events that the tracker's rate
/// limit held back (the final `command.applied` goes out at once, from the answer itself).
final class CommandProgressPublisher: Service, Sendable {
    let fleet: FleetState
    let events: FleetEvents
    let clock: any FleetClock

    init(fleet: FleetState, events: FleetEvents, clock: any FleetClock) {
        self.fleet = fleet
        self.events = events
        self.clock = clock
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // A plain sleep: a shutdown is seen within 250 ms anyway, and a shutdown-aware one
            // cost a task group and a child task every turn (issue 13).
            do {
                try await Task.sleep(for: .milliseconds(Int64(CommandTracker.publishIntervalMilliseconds)))
            } catch {
                break
            }
            publishDue()
        }
    }

    /// Publishes what is due now.
    func publishDue() {
        let now = clock.nowMilliseconds()
        let due = fleet.withModel { model -> [FleetEvent] in
            guard model.tracker.isWaiting else { return [] }
            model.publishDueProgress(atMilliseconds: now)
            return model.takeEvents()
        }
        events.emit(due, atMilliseconds: now)
    }
}
