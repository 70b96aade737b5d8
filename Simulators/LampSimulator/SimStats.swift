import Synchronization

/// Fleet-wide counters of the simulator, safe from every event loop. Every counter counts
/// rare events (handshakes, closes, commands), so one lock is cheap.
final class SimStats: Sendable {
    enum Counter: Int, CaseIterable {
        case connected, handshakes, authRefused, replayRefused, replayAccepted, replaced, closedMalformed, closedTooBig
        case closedPingTimeout, closedBusy, closedOther, connectFailures, reconnects, commandsApplied, faultsRaised
        /// The controller closed with 4006 (a lamp's frame failed its tag); the lamps closed
        /// with 4006 themselves (a controller's frame failed its tag: not applied).
        case closedFrameAuthentication, frameAuthenticationFailed
        /// A connect, upgrade and handshake not done by the handshake deadline (given up).
        case handshakeTimeouts
        /// A lamp tried another controller than its previous one (failover, issue 14).
        case moves
    }

    /// What one controller saw of this process's lamps.
    struct ControllerCounts: Codable, Sendable, Equatable {
        /// Lamps linked (welcomed) to it now.
        var linked = 0
        /// Lamps that came to it from another controller (after a failure there).
        var movedIn = 0
        /// Lamps that left it for another controller (a failure here).
        var movedAway = 0
        /// Connects to it that failed, or ended before their handshake.
        var connectFailures = 0
        /// Of those, connects given up at the handshake deadline.
        var handshakeTimeouts = 0
    }

    /// Per controller (by ``ControllerEndpoint/label``), in the order registered or first seen.
    private let controllers = Mutex<(order: [String], counts: [String: ControllerCounts])>(([], [:]))

    /// Updates one controller's counts.
    func controller(_ label: String, _ update: (inout ControllerCounts) -> Void) {
        controllers.withLock { state in
            if state.counts[label] == nil {
                state.order.append(label)
                state.counts[label] = ControllerCounts()
            }
            update(&state.counts[label]!)  // set just above when missing
        }
    }

    /// Lists controllers (in this order, after those already listed) before any lamp uses them.
    func register(_ labels: [String]) {
        for label in labels { controller(label) { _ in } }
    }

    /// A lamp moved from one controller to another.
    func moved(from: String, to: String) {
        add(.moves)
        controller(from) { $0.movedAway += 1 }
        controller(to) { $0.movedIn += 1 }
    }

    /// Every controller's counts, in the order first seen.
    func controllerCounts() -> [(label: String, counts: ControllerCounts)] {
        controllers.withLock { state in state.order.map { ($0, state.counts[$0] ?? ControllerCounts()) } }
    }

    private let counters = Mutex([Int](repeating: 0, count: Counter.allCases.count))

    func add(_ counter: Counter, _ value: Int = 1) {
        counters.withLock { $0[counter.rawValue] += value }
    }

    func get(_ counter: Counter) -> Int {
        counters.withLock { $0[counter.rawValue] }
    }

    /// Counts a close code the controller sent.
    func closed(code: UInt16) {
        switch code {
        case 4001: add(.authRefused)
        case 4000: add(.replaced)
        case 4003: add(.closedMalformed)
        case 4006: add(.closedFrameAuthentication)
        case 1009: add(.closedTooBig)
        case 4004: add(.closedPingTimeout)
        case 1013: add(.closedBusy)
        default: add(.closedOther)
        }
    }
}
