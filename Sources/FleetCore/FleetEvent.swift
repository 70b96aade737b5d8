import LampProtocol

/// Something that happened in the fleet, with one way out: the controller's `emit` stores it
/// in the event history and offers it to the live stream, as this type's ``storedKind`` and
/// ``streamType`` say. That table is the one place where events are named:
///
/// | event | stored as (`GET /events`) | streamed as (`/stream`) |
/// |---|---|---|
/// | a link authenticated | `online` | `lamp.online` |
/// | the lamp's link closed | `offline` | `lamp.offline` |
/// | a hello failed authentication | `auth.failed` | `lamp.auth-failed` |
/// | a status report | (not stored: the latest is the lamp's reported state) | `lamp.status` (rate-limited per subscriber) |
/// | the lamp raised or cleared a fault | `fault.raised`, `fault.cleared` | `lamp.fault` |
/// | the lamp powered up / lost its clock | `power.up`, `clock.lost` | `lamp.power-up`, `lamp.clock-lost` |
/// | another lamp event | `lamp.KIND` | `lamp.event` |
/// | the lamp refused a request | `command.refused` | `lamp.refused` |
/// | its report disagrees / agrees again with its program | `program.mismatch`, `program.match` | `lamp.program-mismatch`, `lamp.program-match` |
/// | a command's lamps answered (at most 4 a second) | (not stored: the command's progress is) | `command.progress` |
/// | every linked lamp of a command answered | (not stored) | `command.applied` |
/// | an incident opened, was acknowledged, resolved | (not in the event history: the incident table keeps each incident's life) | `incident.opened`, `incident.acknowledged`, `incident.resolved` |
public enum FleetEvent: Sendable, Hashable {
    /// A link authenticated.
    case online(LampID, firmware: String)
    /// The lamp's current link closed.
    case offline(LampID)
    /// A hello for this id failed authentication.
    case authFailed(LampID, reason: String)
    /// A status report arrived.
    case status(LampID, StatusReport)
    /// The lamp sent an event (SPEC.md §7.2): a fault, a power-up, a lost clock.
    case lamp(LampID, LampEvent)
    /// The lamp refused a request.
    case refused(LampID, type: MessageType, ref: UInt32, reason: NackReason)
    /// The lamp's report disagrees with its program (the reason), or agrees again (nil).
    case program(LampID, mismatch: String?)
    /// A command's lamps answered; `final` once no linked lamp is still pending.
    case command(CommandProgressSnapshot, final: Bool)
    /// An incident as it now is, once stored: opened, acknowledged or resolved.
    case incident(IncidentRecord)

    /// The lamp the event is about, if one.
    public var lampID: LampID? {
        switch self {
        case .online(let id, _), .offline(let id), .authFailed(let id, _), .status(let id, _), .lamp(let id, _),
            .refused(let id, _, _, _), .program(let id, _):
            id
        case .incident(let incident):
            if case .lamp(let id) = incident.subject { id } else { nil }
        case .command: nil
        }
    }

    /// The kind it is stored under in the event history, or nil if it is not stored.
    public var storedKind: String? {
        switch self {
        case .online: "online"
        case .offline: "offline"
        case .authFailed: "auth.failed"
        case .status, .command, .incident: nil
        case .lamp(_, let event):
            switch event.kind {
            case .faultRaised: "fault.raised"
            case .faultCleared: "fault.cleared"
            case .powerUp: "power.up"
            case .clockLost: "clock.lost"
            default: "lamp.\(event.kind)"
            }
        case .refused: "command.refused"
        case .program(_, let mismatch): mismatch == nil ? "program.match" : "program.mismatch"
        }
    }

    /// Its `type` on the live stream.
    public var streamType: String {
        switch self {
        case .status: "lamp.status"
        case .online, .offline, .authFailed, .lamp, .refused, .program:
            // Stored events: their stored kind names their type (the one table above).
            storedKind.flatMap(Self.streamType(storedKind:)) ?? "lamp.event"
        case .command(_, let final): final ? "command.applied" : "command.progress"
        case .incident(let incident):
            switch incident.state {
            case .open: "incident.opened"
            case .acknowledged: "incident.acknowledged"
            case .resolved: "incident.resolved"
            }
        }
    }

    /// The stream `type` of a stored event of kind `kind` (another controller's event read
    /// from the history, docs/cluster.md); nil for a kind this controller does not store.
    public static func streamType(storedKind kind: String) -> String? {
        switch kind {
        case "online": "lamp.online"
        case "offline": "lamp.offline"
        case "auth.failed": "lamp.auth-failed"
        case "fault.raised", "fault.cleared": "lamp.fault"
        case "power.up": "lamp.power-up"
        case "clock.lost": "lamp.clock-lost"
        case "command.refused": "lamp.refused"
        case "program.match": "lamp.program-match"
        case "program.mismatch": "lamp.program-mismatch"
        case _ where kind.hasPrefix("lamp."): "lamp.event"
        default: nil
        }
    }

    /// The stored event's detail, for people.
    public var detail: String {
        switch self {
        case .online(_, let firmware): "firmware \(firmware)"
        case .offline, .status, .command: ""
        case .authFailed(_, let reason): reason
        case .lamp(_, let event):
            switch event.kind {
            case .faultRaised, .faultCleared: FaultNames.name(Int(event.detail))
            case .powerUp: "power-up \(event.detail)"
            default: "\(event.detail)"
            }
        case .refused(_, let type, let ref, let reason): "\(type) version \(ref): \(reason)"
        case .program(_, let mismatch): mismatch ?? ""
        case .incident(let incident): incident.detail
        }
    }

    /// The record to store, or nil if this event is not stored.
    public func record(atMilliseconds now: UInt64) -> EventRecord? {
        guard let kind = storedKind, let lampID else { return nil }
        var identity: LampEventIdentity?
        if case .lamp(_, let event) = self { identity = LampEventIdentity(sequence: event.sequence, lampTime: event.time) }
        return EventRecord(lampID: lampID, kind: kind, detail: detail, atMilliseconds: now, lampEvent: identity)
    }
}

/// Names of the fault bits of SPEC.md §7.3.
public enum FaultNames {
    static let names = [
        "lampFailure", "driverFailure", "overTemperature", "supplyFailure", "relayFailure", "busFailure", "clockLost",
        "lightSensorFailure", "cycling",
    ]

    /// The fault bit's name, or `faultBit-N` for a reserved bit.
    public static func name(_ bit: Int) -> String {
        bit >= 0 && bit < names.count ? names[bit] : "faultBit-\(bit)"
    }

    /// The names of every bit set.
    public static func names(_ faults: FaultSet) -> [String] {
        (0..<16).filter { faults.rawValue & (1 << $0) != 0 }.map(name)
    }
}
