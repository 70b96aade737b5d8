import LampProtocol
import Synchronization

/// One counter that any thread may add to.
final class AtomicCount: Sendable {
    private let value = Atomic<Int>(0)

    func add(_ amount: Int = 1) { value.wrappingAdd(amount, ordering: .relaxed) }
    /// Adds one; whether the count with it is at most `limit`. The one added is kept either
    /// way (the caller takes it away when it refuses). Checked on the value this add made,
    /// not read again, so two adds at once never both see the other's.
    func add(within limit: Int) -> Bool { value.wrappingAdd(1, ordering: .relaxed).newValue <= limit }
    func subtract(_ amount: Int = 1) { value.wrappingSubtract(amount, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

/// The gateway's counters: each figure is counted here once, as one relaxed atomic add.
/// `/api/v1/stats` reads them; `/metrics` exports them (``ControllerMetrics/refresh``), so
/// the two can never disagree.
public final class GatewayCounters: Sendable {
    let handshakesAccepted = AtomicCount()
    let handshakesRefused = AtomicCount()
    /// Hellos whose MAC was computed and compared (registered id or not: one path).
    let helloMACsCompared = AtomicCount()
    /// Backoffs of a source address started for failed handshakes, connections closed at
    /// accept because their address was backed off, and failures left untracked because the
    /// table of addresses was full (``HandshakeFailureLimits``).
    let backoffsStarted = AtomicCount()
    let closedBackedOff = AtomicCount()
    let failuresUntracked = AtomicCount()
    let linksReplaced = AtomicCount()
    let linksClosedMalformed = AtomicCount()
    /// Links closed because a message after the welcome had a wrong or missing tag (4006).
    let linksClosedFrameAuthentication = AtomicCount()
    let pendingHandshakes = AtomicCount()
    /// Connections on the lamp port now, in any phase (``GatewayConfiguration/maximumLinks``).
    let lampConnections = AtomicCount()
    /// Connections closed at accept because the lamp port held ``GatewayConfiguration/maximumLinks``.
    let closedAtCapacity = AtomicCount()
    /// Acks and nacks that matched no request in flight on their link (ignored).
    let answersIgnored = AtomicCount()
    /// Connections not yet upgraded to WebSocket, and those their limits closed.
    public let beforeUpgrade = ConnectionPhaseCounters()
    /// Hellos that reported a version above the lamp's desired one (SPEC.md §8.0): the
    /// desired state was issued again at fresh versions.
    let lampsAhead = AtomicCount()
    /// Lamps' events stored (and acknowledged), received again and acknowledged without
    /// storing, and refused with busy (the store failed or too many waited).
    let eventsStored = AtomicCount()
    let eventsDuplicate = AtomicCount()
    let eventsRefused = AtomicCount()
    /// Protocol messages by type byte, received and sent.
    let framesIn = (0...255).map { _ in AtomicCount() }
    let framesOut = (0...255).map { _ in AtomicCount() }

    init() {}

    func frameIn(_ type: UInt8) { framesIn[Int(type)].add() }
    func frameOut(_ type: MessageType) { framesOut[Int(type.rawValue)].add() }

    /// A point-in-time copy of every counter.
    public var snapshot: Snapshot {
        Snapshot(
            handshakesAccepted: handshakesAccepted.current, handshakesRefused: handshakesRefused.current,
            helloMACsCompared: helloMACsCompared.current, backoffsStarted: backoffsStarted.current,
            closedBackedOff: closedBackedOff.current, closedAtCapacity: closedAtCapacity.current,
            lampConnections: lampConnections.current, failuresUntracked: failuresUntracked.current,
            linksReplaced: linksReplaced.current, linksClosedMalformed: linksClosedMalformed.current,
            linksClosedFrameAuthentication: linksClosedFrameAuthentication.current,
            pendingHandshakes: pendingHandshakes.current, answersIgnored: answersIgnored.current,
            beforeUpgrade: beforeUpgrade.current, closedBeforeUpgradeFull: beforeUpgrade.refused,
            closedBeforeUpgradeDeadline: beforeUpgrade.expired, lampsAhead: lampsAhead.current,
            eventsStored: eventsStored.current, eventsDuplicate: eventsDuplicate.current, eventsRefused: eventsRefused.current,
            framesIn: framesIn.map(\.current), framesOut: framesOut.map(\.current))
    }

    /// The counters' values at one moment.
    public struct Snapshot: Sendable, Hashable {
        /// Handshakes that ended in a welcome.
        public var handshakesAccepted: Int
        /// Handshakes refused (authentication, deadline, order, load).
        public var handshakesRefused: Int
        /// Hellos whose MAC was checked (registered id or not).
        public var helloMACsCompared: Int
        /// Source addresses backed off for failed handshakes (each time one started).
        public var backoffsStarted: Int
        /// Connections closed at accept because their address was backed off.
        public var closedBackedOff: Int
        /// Connections closed at accept because the lamp port was at its maximum of links.
        public var closedAtCapacity: Int
        /// Connections on the lamp port now, in any phase.
        public var lampConnections: Int
        /// Failed handshakes not tracked because the table of addresses was full.
        public var failuresUntracked: Int
        /// Links replaced by a newer link of the same lamp.
        public var linksReplaced: Int
        /// Links closed for a malformed or oversize message.
        public var linksClosedMalformed: Int
        /// Links closed for a frame whose tag was wrong or missing (SPEC.md §4.3, close 4006).
        public var linksClosedFrameAuthentication: Int
        /// Links currently in their handshake.
        public var pendingHandshakes: Int
        /// Acks and nacks that matched no request in flight (ignored).
        public var answersIgnored: Int
        /// Connections not yet upgraded to WebSocket now.
        public var beforeUpgrade: Int
        /// Connections closed before the upgrade: the phase was full, or its deadline passed.
        public var closedBeforeUpgradeFull: Int
        public var closedBeforeUpgradeDeadline: Int
        /// Hellos with versions ahead of the lamp's desired state.
        public var lampsAhead: Int
        /// Lamps' events stored.
        public var eventsStored: Int
        /// Lamps' events received again (acknowledged, not stored).
        public var eventsDuplicate: Int
        /// Lamps' events refused with busy.
        public var eventsRefused: Int
        /// Messages received and sent, by type byte.
        public var framesIn: [Int]
        public var framesOut: [Int]

        /// Protocol messages received.
        public var messagesIn: Int { framesIn.reduce(0, +) }
        /// Protocol messages sent.
        public var messagesOut: Int { framesOut.reduce(0, +) }
    }
}
