import CHeap
import FleetCore
import LampProtocol
import Metrics
import Synchronization

/// The controller's instruments (swift-metrics; `lamplighterd` exports them through
/// swift-prometheus at `/metrics`). Counters on the per-message path are made once, here, so
/// counting a message is one atomic increment.
public final class ControllerMetrics: Sendable {
    private let handshakesAccepted = Counter(label: "lamplighter_handshakes_total", dimensions: [("outcome", "accepted")])
    private let handshakesRefused = Counter(label: "lamplighter_handshakes_total", dimensions: [("outcome", "refused")])
    private let closedBackedOff = Counter(
        label: "lamplighter_connections_closed_total", dimensions: [("port", "lamp"), ("reason", "backoff")])
    private let closedAtCapacity = Counter(
        label: "lamplighter_connections_closed_total", dimensions: [("port", "lamp"), ("reason", "capacity")])
    private let lampConnections = Gauge(label: "lamplighter_lamp_connections")
    private let backoffsStarted = Counter(label: "lamplighter_handshake_backoffs_total")
    private let failuresUntracked = Counter(label: "lamplighter_handshake_failures_untracked_total")
    private let linksReplaced = Counter(label: "lamplighter_links_replaced_total")
    private let linksClosedMalformed = Counter(label: "lamplighter_links_closed_malformed_total")
    private let linksClosedFrameAuthentication = Counter(label: "lamplighter_links_closed_frame_authentication_total")
    private let answersIgnored = Counter(label: "lamplighter_answers_ignored_total")
    private let closedBeforeUpgradeFull = Counter(
        label: "lamplighter_connections_closed_total", dimensions: [("port", "lamp"), ("reason", "full")])
    private let closedBeforeUpgradeDeadline = Counter(
        label: "lamplighter_connections_closed_total", dimensions: [("port", "lamp"), ("reason", "deadline")])
    private let beforeUpgrade = Gauge(label: "lamplighter_connections_before_upgrade")
    private let lampsAhead = Counter(label: "lamplighter_lamps_ahead_total")
    private let eventsStored = Counter(label: "lamplighter_lamp_events_total", dimensions: [("outcome", "stored")])
    private let eventsDuplicate = Counter(label: "lamplighter_lamp_events_total", dimensions: [("outcome", "duplicate")])
    private let eventsRefused = Counter(label: "lamplighter_lamp_events_total", dimensions: [("outcome", "refused")])
    private let framesIn: [Counter]
    private let framesOut: [Counter]
    /// Time from a command's acceptance to each lamp's acknowledgement.
    let commandApplied = Timer(label: "lamplighter_command_applied_seconds")
    let storeCommandWrite = Timer(label: "lamplighter_store_write_seconds", dimensions: [("operation", "command")])
    let storeBatchWrite = Timer(label: "lamplighter_store_write_seconds", dimensions: [("operation", "batch")])
    /// Lamp-hours of energy dropped because the store failed for longer than the model holds
    /// them (``FleetModel/maximumHeldEnergyHours``).
    let energyDropped = Counter(label: "lamplighter_energy_dropped_lamp_hours_total")
    /// One group commit of lamps' events (their acks wait for it).
    let storeEventCommit = Timer(label: "lamplighter_store_write_seconds", dimensions: [("operation", "events")])
    private let linksOpen = Gauge(label: "lamplighter_links_open")
    private let pendingHandshakes = Gauge(label: "lamplighter_handshakes_pending")
    private let lampsRegistered = Gauge(label: "lamplighter_lamps")
    private let lampsInFault = Gauge(label: "lamplighter_lamps_in_fault")
    private let lampsByMode: [String: Gauge]
    /// Bytes the daemon has allocated and not freed (the C allocator's own count): unlike RSS,
    /// it does not move with fragmentation, so its growth per link reproduces.
    private let heapInUse = Gauge(label: "lamplighter_heap_in_use_bytes")
    /// Bytes freed but still held by the allocator (part of RSS until trimmed).
    private let heapHeldFree = Gauge(label: "lamplighter_heap_free_held_bytes")
    /// The gateway's counters as last exported: each export adds what was counted since.
    private let exported = Mutex<GatewayCounters.Snapshot?>(nil)

    static let modes = ["program", "override", "manual", "failSafe", "unknown", "unreported"]
    static let frameTypes: [MessageType] = [
        .challenge, .hello, .welcome, .ack, .nack, .statusReport, .event, .setLevel, .switch, .override, .resumeProgram,
        .config, .identify, .reboot, .programHeader, .programPage,
    ]

    /// The instruments, registered with the bootstrapped metrics system.
    public init() {
        func counters(_ direction: String) -> [Counter] {
            (0...255).map { raw in
                let type = MessageType(rawValue: UInt8(raw))
                let name = ControllerMetrics.frameTypes.contains(type) ? type.description : "unknown"
                return Counter(label: "lamplighter_frames_total", dimensions: [("direction", direction), ("type", name)])
            }
        }
        framesIn = counters("in")
        framesOut = counters("out")
        lampsByMode = Dictionary(uniqueKeysWithValues: ControllerMetrics.modes.map {
            ($0, Gauge(label: "lamplighter_lamps_by_mode", dimensions: [("mode", $0)]))
        })
    }

    /// Adds to the exported counters what the gateway counted since the last export.
    func export(_ counters: GatewayCounters.Snapshot) {
        let previous = exported.withLock { exported in
            defer { exported = counters }
            return exported
        }
        func add(_ counter: Counter, _ now: Int, _ before: Int?) {
            let delta = now - (before ?? 0)
            if delta > 0 { counter.increment(by: delta) }
        }
        add(handshakesAccepted, counters.handshakesAccepted, previous?.handshakesAccepted)
        add(handshakesRefused, counters.handshakesRefused, previous?.handshakesRefused)
        add(linksReplaced, counters.linksReplaced, previous?.linksReplaced)
        add(closedBackedOff, counters.closedBackedOff, previous?.closedBackedOff)
        add(closedAtCapacity, counters.closedAtCapacity, previous?.closedAtCapacity)
        lampConnections.record(counters.lampConnections)
        add(backoffsStarted, counters.backoffsStarted, previous?.backoffsStarted)
        add(failuresUntracked, counters.failuresUntracked, previous?.failuresUntracked)
        add(linksClosedMalformed, counters.linksClosedMalformed, previous?.linksClosedMalformed)
        add(linksClosedFrameAuthentication, counters.linksClosedFrameAuthentication, previous?.linksClosedFrameAuthentication)
        add(answersIgnored, counters.answersIgnored, previous?.answersIgnored)
        add(closedBeforeUpgradeFull, counters.closedBeforeUpgradeFull, previous?.closedBeforeUpgradeFull)
        add(closedBeforeUpgradeDeadline, counters.closedBeforeUpgradeDeadline, previous?.closedBeforeUpgradeDeadline)
        add(lampsAhead, counters.lampsAhead, previous?.lampsAhead)
        add(eventsStored, counters.eventsStored, previous?.eventsStored)
        add(eventsDuplicate, counters.eventsDuplicate, previous?.eventsDuplicate)
        add(eventsRefused, counters.eventsRefused, previous?.eventsRefused)
        for type in 0...255 {
            add(framesIn[type], counters.framesIn[type], previous?.framesIn[type])
            add(framesOut[type], counters.framesOut[type], previous?.framesOut[type])
        }
    }

    /// Brings the gauges up to date; called right before each export.
    public func refresh(fleet: FleetState, gateway: LampGateway) {
        let counters = gateway.counters.snapshot
        export(counters)
        linksOpen.record(gateway.linkedLamps)
        pendingHandshakes.record(counters.pendingHandshakes)
        beforeUpgrade.record(counters.beforeUpgrade)
        let (registered, inFault, byMode) = fleet.withEntries { all in
            let entries = all.filter { !$0.removed }
            var byMode: [String: Int] = Dictionary(uniqueKeysWithValues: ControllerMetrics.modes.map { ($0, 0) })
            var inFault = 0
            for entry in entries {
                let mode = entry.status.map { $0.mode.rawValue <= 3 ? $0.mode.description : "unknown" } ?? "unreported"
                byMode[mode, default: 0] += 1
                if let faults = entry.status?.faults, !faults.isEmpty { inFault += 1 }
            }
            return (entries.count, inFault, byMode)
        }
        lampsRegistered.record(registered)
        lampsInFault.record(inFault)
        for (mode, gauge) in lampsByMode {
            gauge.record(byMode[mode] ?? 0)
        }
        let heap = lamplighter_heap_now()
        if heap.known != 0 {
            heapInUse.record(Int(heap.inUse))
            heapHeldFree.record(Int(heap.heldFree))
        }
    }
}
