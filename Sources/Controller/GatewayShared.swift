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
    /// Where failed hellos are recorded (throttled per source address).
    let history: HistoryKeeper
    let eventCommitter: LampEventCommitter
    /// The order of changes to the fleet.
    let mutations: FleetMutations
    let fleetKey: FleetKey
    let logger: Logger
    let counters: GatewayCounters
    let metrics: ControllerMetrics
    let clock: any FleetClock
    private let nextLinkID = Atomic<UInt64>(1)
    /// Failed handshakes by source address, and which addresses are backed off.
    let failureLimiter: HandshakeFailureLimiter
    /// 32 random id characters, per process: their first n stand in for an unknown or revoked
    /// id of n characters, so every hello costs the same key derivation (same input length)
    /// and MAC check whether its id is registered or not.
    private let standInCharacters: String = {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<LampID.lengths.upperBound).map { _ in alphabet.randomElement()! })
    }()
    /// Links allowed in their handshake at once (starts as the configuration's; SIGHUP can
    /// change it).
    let maximumPendingHandshakes: Atomic<Int>

    init(
        configuration: GatewayConfiguration, fleet: FleetState, store: any FleetStoring, writer: ReportedStateWriter,
        events: FleetEvents, history: HistoryKeeper, eventCommitter: LampEventCommitter, counters: GatewayCounters, mutations: FleetMutations,
        fleetKey: FleetKey, metrics: ControllerMetrics, clock: any FleetClock, logger: Logger
    ) {
        self.configuration = configuration
        self.mutations = mutations
        self.eventCommitter = eventCommitter
        self.counters = counters
        self.maximumPendingHandshakes = Atomic(configuration.maximumPendingHandshakes)
        self.failureLimiter = HandshakeFailureLimiter(limits: configuration.handshakeFailureLimits, counters: counters)
        self.fleet = fleet
        self.store = store
        self.writer = writer
        self.events = events
        self.history = history
        self.fleetKey = fleetKey
        self.metrics = metrics
        self.clock = clock
        self.logger = logger
    }

    /// The key a hello claiming `id` is checked against, and whether `id` may link: the
    /// lamp's own key for a registered lamp, else (unknown or revoked) a stand-in derived
    /// the same way. One fleet
    /// lock and one key derivation either way; the store is never read (the fleet in memory
    /// is the registry: every registration goes through this process).
    func helloKey(for id: LampID) -> (key: LampKey, registered: Bool) {
        let registered = fleet.withModel { $0.acceptsHello(from: id) }
        let standIn = LampID(String(standInCharacters.prefix(id.value.utf8.count)))!
        return (fleetKey.lampKey(for: registered ? id : standIn), registered)
    }

    /// The two keys a hello claiming `id` is checked against (SPEC.md §8.12): the lamp's
    /// current key and, while a rekey is pending, the pending generation's; with none
    /// pending (and for an unknown or revoked id, both) stand-ins derived the same way, so
    /// every hello costs two derivations and the same MAC checks.
    func helloKeys(for id: LampID) -> (key: LampKey, alternate: LampKey, pending: UInt32?, registered: Bool) {
        let (registered, current, pending) = fleet.withModel { $0.helloKeyGenerations(for: id) }
        let standIn = LampID(String(standInCharacters.prefix(id.value.utf8.count)))!
        let key = fleetKey.lampKey(for: registered ? id : standIn, generation: current)
        let alternate = fleetKey.lampKey(for: registered && pending != nil ? id : standIn, generation: pending ?? current &+ 1)
        return (key, alternate, registered ? pending : nil, registered)
    }

    func makeLinkID() -> UInt64 {
        nextLinkID.wrappingAdd(1, ordering: .relaxed).oldValue
    }
}
