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
