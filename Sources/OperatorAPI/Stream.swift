import Foundation

/// The live event stream (`GET /api/v1/stream`, a WebSocket carrying JSON text).
///
/// The client sends ``StreamRequest``s to subscribe and unsubscribe; the controller sends
/// ``StreamEvent``s: first `subscribed` with the channels now held, then events on them.
public enum StreamChannel {
    /// Every lamp and every command.
    public static let fleet = "fleet"

    /// Whether `text` is `fleet`, `group:NAME` or `lamp:ID` with a valid name or id.
    public static func isValid(_ text: String) -> Bool {
        if text == fleet { return true }
        let name: Substring
        if text.hasPrefix("group:") {
            name = text.dropFirst(6)
            guard name.count <= 64 else { return false }
        } else if text.hasPrefix("lamp:") {
            name = text.dropFirst(5)
            guard name.count <= 32 else { return false }
        } else {
            return false
        }
        return !name.isEmpty
            && name.utf8.allSatisfy { byte in
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            }
    }
}

/// What a stream client sends.
public struct StreamRequest: Codable, Sendable, Equatable {
    /// `subscribe` or `unsubscribe`.
    public var op: String
    /// `fleet`, `group:NAME`, `lamp:ID`.
    public var channels: [String]
    /// For `subscribe`: at most one `lamp.status` per lamp per this many seconds, 0 to 3600
    /// (0: every report). Default 1.
    public var statusIntervalSeconds: Double?

    /// A stream request.
    public init(op: String, channels: [String], statusIntervalSeconds: Double? = nil) {
        self.op = op
        self.channels = channels
        self.statusIntervalSeconds = statusIntervalSeconds
    }
}

/// One message from the stream. `type` says which fields are set:
///
/// | type | fields |
/// |---|---|
/// | `subscribed` | channels |
/// | `lamp.online`, `lamp.offline` | lamp |
/// | `lamp.status` | lamp, level, mode, lit, powerWatts, faults |
/// | `lamp.fault` | lamp, fault, raised |
/// | `lamp.auth-failed`, `lamp.refused`, `lamp.power-up`, `lamp.clock-lost`, `lamp.event`, `lamp.program-mismatch`, `lamp.program-match` | lamp, kind (as stored in the event history), detail |
/// | `command.progress`, `command.applied` | command |
/// | `incident.opened`, `incident.acknowledged`, `incident.resolved` | incident (its id, kind, lamp or cabinet, who and when, detail); lamp too for a lamp's incident |
/// | `error` | error |
public struct StreamEvent: Codable, Sendable, Equatable {
    /// What happened.
    public var type: String
    /// When.
    public var at: Date
    /// The lamp it is about.
    public var lamp: String?
    /// Reported level, percent.
    public var level: Double?
    /// Reported mode.
    public var mode: String?
    /// Whether the lamp is lit.
    public var lit: Bool?
    /// Power draw, watts.
    public var powerWatts: Double?
    /// Faults present.
    public var faults: [String]?
    /// The fault raised or cleared.
    public var fault: String?
    /// Raised (true) or cleared (false).
    public var raised: Bool?
    /// A command's progress.
    public var command: CommandProgress?
    /// An incident as it now is (`incident.*`).
    public var incident: IncidentView?
    /// For lamp events other than status, online, offline and faults: the kind the event
    /// history stores it under (e.g. `command.refused`).
    public var kind: String?
    /// For those events: the details, for people.
    public var detail: String?
    /// The channels now subscribed.
    public var channels: [String]?
    /// What went wrong with a request.
    public var error: String?

    /// An event of `type` at `at`; set the fields its type uses.
    public init(type: String, at: Date, lamp: String? = nil) {
        self.type = type
        self.at = at
        self.lamp = lamp
    }
}
