import FleetCore
import FleetStore
import LampAuth
import LampProtocol
import Logging
import Synchronization

/// Counters the gateway keeps; read by the metrics endpoint and the tests.
public final class GatewayCounters: Sendable {
    /// Handshakes that ended in a welcome.
    public let handshakesAccepted = Atomic<Int>(0)
    /// Handshakes refused (authentication, deadline, order, load).
    public let handshakesRefused = Atomic<Int>(0)
    /// Links replaced by a newer link of the same lamp.
    public let linksReplaced = Atomic<Int>(0)
    /// Links closed for a malformed or oversize message.
    public let linksClosedMalformed = Atomic<Int>(0)
    /// Protocol messages received.
    public let messagesIn = Atomic<Int>(0)
    /// Protocol messages sent.
    public let messagesOut = Atomic<Int>(0)
    /// Links currently in their handshake.
    public let pendingHandshakes = Atomic<Int>(0)

    init() {}
}

/// What every link handler shares: the fleet, the registry, the writer, the key.
final class GatewayShared: Sendable {
    let configuration: GatewayConfiguration
    let fleet: FleetState
    let store: FleetStore
    let registry = LinkRegistry()
    let writer: ReportedStateWriter
    let fleetKey: FleetKey
    let logger: Logger
    let counters = GatewayCounters()
    let metrics: ControllerMetrics
    let hub: EventHub
    let once = OnceCommands()
    private let nextLinkID = Atomic<UInt64>(1)

    init(
        configuration: GatewayConfiguration, fleet: FleetState, store: FleetStore, writer: ReportedStateWriter,
        fleetKey: FleetKey, metrics: ControllerMetrics, hub: EventHub, logger: Logger
    ) {
        self.metrics = metrics
        self.hub = hub
        self.configuration = configuration
        self.fleet = fleet
        self.store = store
        self.writer = writer
        self.fleetKey = fleetKey
        self.logger = logger
    }

    func makeLinkID() -> UInt64 {
        nextLinkID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// The key of a registered lamp, or nil. A lamp registered in the store after start-up
    /// (by `lamplighterd lamps add` while the daemon runs) is picked up here.
    func key(for id: LampID) -> LampKey? {
        if fleet.entry(id) == nil {
            guard let stored = try? store.lamp(id) else { return nil }
            fleet.add([stored])
        }
        return fleetKey.lampKey(for: id)
    }
}
