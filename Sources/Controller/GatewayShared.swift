import FleetCore
import LampAuth
import LampProtocol
import Logging
import Synchronization

/// What every link handler shares: the fleet, the registry, the writer, the key, the clock.
final class GatewayShared: Sendable {
    let configuration: GatewayConfiguration
    let fleet: FleetState
    let store: any FleetStoring
    let registry = LinkRegistry()
    let writer: ReportedStateWriter
    let events: FleetEvents
    let eventCommitter: LampEventCommitter
    /// The order of changes to the fleet (a lamp found in the store joins the model in it).
    let mutations: FleetMutations
    let fleetKey: FleetKey
    let logger: Logger
    let counters: GatewayCounters
    let metrics: ControllerMetrics
    let clock: any FleetClock
    private let nextLinkID = Atomic<UInt64>(1)
    /// Links allowed in their handshake at once (starts as the configuration's; SIGHUP can
    /// change it).
    let maximumPendingHandshakes: Atomic<Int>

    init(
        configuration: GatewayConfiguration, fleet: FleetState, store: any FleetStoring, writer: ReportedStateWriter,
        events: FleetEvents, eventCommitter: LampEventCommitter, counters: GatewayCounters, mutations: FleetMutations,
        fleetKey: FleetKey, metrics: ControllerMetrics, clock: any FleetClock, logger: Logger
    ) {
        self.configuration = configuration
        self.mutations = mutations
        self.eventCommitter = eventCommitter
        self.counters = counters
        self.maximumPendingHandshakes = Atomic(configuration.maximumPendingHandshakes)
        self.fleet = fleet
        self.store = store
        self.writer = writer
        self.events = events
        self.fleetKey = fleetKey
        self.metrics = metrics
        self.clock = clock
        self.logger = logger
    }

    func makeLinkID() -> UInt64 {
        nextLinkID.wrappingAdd(1, ordering: .relaxed).oldValue
    }
}
