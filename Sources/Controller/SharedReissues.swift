import FleetCore
import LampProtocol
import Logging
import Synchronization

/// Desired states issued again among several controllers (docs/cluster.md), gathered so that
/// one version from the shared counter serves every lamp that linked meanwhile: the lamps of
/// a killed controller move in by the thousand, and a counter round trip each would take the
/// pool from the commands (which then answer 503). One batch at a time; its desired states
/// are then stored one after the other, on one connection.
final class SharedReissues: Sendable {
    /// A lamp whose desired control waits for a shared version above `floor`; `deliver` hands
    /// the state issued again to its link.
    struct Pending: Sendable {
        let slot: Int
        let lampID: LampID
        let floor: UInt32
        let deliver: @Sendable (DesiredState) -> Void
    }

    private let cluster: any ClusterStoring
    private let store: any FleetStoring
    private let fleet: FleetState
    private let clock: any FleetClock
    private let logger: Logger
    private let state = Mutex<(pending: [Pending], running: Bool)>(([], false))

    init(cluster: any ClusterStoring, store: any FleetStoring, fleet: FleetState, clock: any FleetClock, logger: Logger) {
        self.cluster = cluster
        self.store = store
        self.fleet = fleet
        self.clock = clock
        self.logger = logger
    }

    /// Queues a lamp; starts the batch loop unless it runs.
    func add(_ pending: Pending) {
        let start = state.withLock { state -> Bool in
            state.pending.append(pending)
            guard !state.running else { return false }
            state.running = true
            return true
        }
        if start { Task { await self.drain() } }
    }

    /// Takes a batch, one version for all of it, until none is left.
    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Pending] in
                let batch = state.pending
                state.pending = []
                if batch.isEmpty { state.running = false }
                return batch
            }
            guard let floor = batch.map(\.floor).max() else { return }
            do {
                let version = try await cluster.allocateControlVersion(above: floor)
                let at = clock.nowMilliseconds()
                let reissued = fleet.withModel { model in
                    batch.compactMap { entry in model.reissueControl(entry.slot, version: version, atMilliseconds: at).map { (entry, $0) } }
                }
                for (entry, desired) in reissued { entry.deliver(desired) }
                for (entry, desired) in reissued {
                    do {
                        try await store.reissueDesired(entry.lampID, desired, atMilliseconds: at)
                    } catch {
                        // The next hello finds the lamp ahead again and issues it once more.
                        logger.warning("cannot store a desired state issued again", metadata: ["lamp.id": "\(entry.lampID)", "error": "\(error)"])
                    }
                }
            } catch {
                logger.warning("cannot take a version for desired states issued again", metadata: ["lamps": "\(batch.count)", "error": "\(error)"])
            }
        }
    }
}
