import FleetStore
import LampProtocol
import Metrics
import Synchronization

/// The controller's instruments (swift-metrics; `lamplighterd` exports them through
/// swift-prometheus at `/metrics`). Counters on the per-message path are made once, here, so
/// counting a message is one atomic increment.
public final class ControllerMetrics: Sendable {
    let handshakesAccepted = Counter(label: "lamplighter_handshakes_total", dimensions: [("outcome", "accepted")])
    let handshakesRefused = Counter(label: "lamplighter_handshakes_total", dimensions: [("outcome", "refused")])
    let linksReplaced = Counter(label: "lamplighter_links_replaced_total")
    let linksClosedMalformed = Counter(label: "lamplighter_links_closed_malformed_total")
    private let framesIn: [Counter]
    private let framesOut: [Counter]
    /// Time from a command's acceptance to each lamp's acknowledgement.
    let commandApplied = Timer(label: "lamplighter_command_applied_seconds")
    let storeCommandWrite = Timer(label: "lamplighter_store_write_seconds", dimensions: [("operation", "command")])
    let storeBatchWrite = Timer(label: "lamplighter_store_write_seconds", dimensions: [("operation", "batch")])
    private let linksOpen = Gauge(label: "lamplighter_links_open")
    private let pendingHandshakes = Gauge(label: "lamplighter_handshakes_pending")
    private let lampsRegistered = Gauge(label: "lamplighter_lamps")
    private let lampsInFault = Gauge(label: "lamplighter_lamps_in_fault")
    private let lampsByMode: [String: Gauge]

    static let modes = ["program", "override", "manual", "failSafe", "unknown", "unreported"]
    static let frameTypes: [MessageType] = [
        .challenge, .hello, .welcome, .ack, .nack, .statusReport, .event, .setLevel, .switch, .override, .resumeProgram,
        .config, .identify, .reboot,
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

    func frameIn(_ type: UInt8) { framesIn[Int(type)].increment() }
    func frameOut(_ type: MessageType) { framesOut[Int(type.rawValue)].increment() }

    /// Brings the gauges up to date; called right before each export.
    public func refresh(fleet: FleetState, gateway: LampGateway) {
        linksOpen.record(gateway.linkedLamps)
        pendingHandshakes.record(gateway.counters.pendingHandshakes.load(ordering: .relaxed))
        let (registered, inFault, byMode) = fleet.withEntries { entries in
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
    }
}
