import FleetCore
import LampAuth
import LampProtocol
import Logging
import NIOCore
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
    /// The fleet master keys: the current one and older ones lamps still derive from. A
    /// master-key rotation swaps it while holding the fleet's lock, and every reader takes
    /// it inside that lock too, so a lamp's key state and the keys always agree.
    let keyRing: Mutex<FleetKeyRing>
    /// The current fleet master key.
    var fleetKey: FleetKey { keyRing.withLock { $0.current } }
    let logger: Logger
    let counters: GatewayCounters
    let metrics: ControllerMetrics
    let clock: any FleetClock
    /// Where acks are gathered for the other controllers on the database; nil alone.
    let clusterOutbox: ClusterOutbox?
    /// Among several controllers: desired states issued again, waiting for a shared version.
    let sharedReissues: SharedReissues?
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
        keyRing: FleetKeyRing, metrics: ControllerMetrics, clock: any FleetClock, clusterOutbox: ClusterOutbox? = nil, logger: Logger
    ) {
        self.clusterOutbox = clusterOutbox
        sharedReissues = clusterOutbox == nil ? nil : (store as? any ClusterStoring).map {
            SharedReissues(cluster: $0, store: store, fleet: fleet, clock: clock, logger: logger)
        }
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
        self.keyRing = Mutex(keyRing)
        self.metrics = metrics
        self.clock = clock
        self.logger = logger
    }

    /// The two keys a hello claiming `id` is checked against (SPEC.md §8.12): the lamp's
    /// current key and, while a rekey is pending, the pending generation's; with none
    /// pending (and for an unknown or revoked id, both) stand-ins derived the same way, so
    /// every hello costs two derivations and the same MAC checks.
    ///
    /// Each key derives from the master key its generation was issued under (SPEC.md §4.1);
    /// a lamp whose master is missing from the key file is checked against stand-ins (and
    /// refused, 4001) like an unknown id.
    func helloKeys(for id: LampID) -> (key: LampKey, alternate: LampKey, pending: UInt32?, registered: Bool) {
        let (state, masters) = fleet.withModel { model in
            let state = model.helloKeyGenerations(for: id)
            let masters = keyRing.withLock { ring in
                (ring.key(id: state.master), state.pending == nil ? nil : ring.key(id: state.pendingMaster), ring.current)
            }
            return (state, masters)
        }
        let (master, pendingMaster, current) = masters
        let registered = state.accepted && master != nil
        let pending = registered ? state.pending : nil
        let standIn = LampID(String(standInCharacters.prefix(id.value.utf8.count)))!
        let key = (master ?? current).lampKey(for: registered ? id : standIn, generation: state.current)
        let alternate = (pendingMaster ?? current).lampKey(
            for: pending != nil && pendingMaster != nil ? id : standIn, generation: pending ?? state.current &+ 1)
        return (key, alternate, pendingMaster == nil ? nil : pending, registered)
    }

    /// The key of generation `generation` under master `master` (nil: the current one) that a
    /// rekey gives lamp `id`; nil if the key file lacks that master.
    func rekeyKey(for id: LampID, generation: UInt32, master: String?) -> LampKey? {
        keyRing.withLock { $0.key(id: master) }?.lampKey(for: id, generation: generation)
    }

    func makeLinkID() -> UInt64 {
        nextLinkID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// When a connection was last refused at the maximum of links was logged (ms), so a
    /// full controller says so once every 10 s, not once per lamp.
    private let capacityLoggedAt = Atomic<UInt64>(0)

    /// Whether the lamp port takes one more connection: counted until it closes, up to
    /// ``GatewayConfiguration/maximumLinks`` at once (counted first, then checked, so the
    /// event loops cannot overshoot together).
    func admitConnection(_ channel: any Channel) -> Bool {
        let counters = self.counters
        let limit = configuration.maximumLinks
        if !counters.lampConnections.add(within: limit) {
            counters.lampConnections.subtract()
            counters.closedAtCapacity.add()
            let now = clock.nowMilliseconds()
            let last = capacityLoggedAt.load(ordering: .relaxed)
            if now >= last + 10_000, capacityLoggedAt.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged {
                logger.warning(
                    "the lamp port is full: new connections are closed at once, and their lamps move to another controller",
                    metadata: ["links.maximum": "\(limit)", "closed.total": "\(counters.closedAtCapacity.current)"])
            }
            return false
        }
        channel.closeFuture.whenComplete { _ in counters.lampConnections.subtract() }
        return true
    }
}
