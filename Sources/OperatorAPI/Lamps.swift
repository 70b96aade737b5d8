import Foundation

/// One lamp as the operator API shows it: identity, what was asked, what the lamp said.
public struct LampView: Codable, Sendable, Equatable {
    /// The lamp id.
    public var id: String
    /// A human name, e.g. "Main St 12".
    public var name: String?
    /// Groups the lamp belongs to.
    public var groups: [String]
    /// Latitude and longitude, decimal degrees.
    public var latitude: Double?
    /// Longitude, decimal degrees.
    public var longitude: Double?
    /// Rated power at full light, watts.
    public var wattage: Double?
    /// The cabinet (feeder pillar) it is fed from.
    public var cabinet: String?
    /// Whether the lamp holds an authenticated link now.
    public var online: Bool
    /// When the controller last heard from it (ISO 8601).
    public var lastSeen: Date?
    /// What the operator asked for.
    public var desired: DesiredView
    /// What the lamp last reported; nil if it never has.
    public var reported: ReportedView?
    /// Whether the lamp has applied the latest desired control version.
    public var converged: Bool
    /// Its newest events (only in `GET /lamps/{id}`).
    public var recentEvents: [EventView]?
    /// The program assigned to it, and the revision it holds.
    public var program: String?
    public var programRevision: UInt32?
    /// True when the lamp's last hello said it runs no programs (no programs capability, or
    /// protocol 1.0): it is sent none and not judged against one (SPEC.md §5.2). Nil otherwise.
    public var programUnsupported: Bool?
    /// What its program asks for now, percent, when it follows its program (the controller
    /// computes it with the lamp's place and the fleet's time-zone rule).
    public var expectedLevel: Double?
    /// True when the lamp is revoked (`POST /lamps/{id}/revoke`): its hellos are refused like
    /// an unknown lamp's until it is restored. Nil otherwise.
    public var revoked: Bool?
    /// The generation of the lamp's key (SPEC.md §4.1); nil for 0, the key it was made with.
    public var keyGeneration: UInt32?
    /// The generation of a key rotation the lamp has not yet proven (SPEC.md §8.12); nil
    /// when none is pending.
    public var keyRotationPending: UInt32?

    /// A lamp view.
    public init(
        id: String, name: String?, groups: [String], latitude: Double?, longitude: Double?, wattage: Double?,
        online: Bool, lastSeen: Date?, desired: DesiredView, reported: ReportedView?, converged: Bool, program: String? = nil,
        programRevision: UInt32? = nil
    ) {
        self.program = program
        self.programRevision = programRevision
        self.id = id
        self.name = name
        self.groups = groups
        self.latitude = latitude
        self.longitude = longitude
        self.wattage = wattage
        self.online = online
        self.lastSeen = lastSeen
        self.desired = desired
        self.reported = reported
        self.converged = converged
    }
}

/// The desired control state, readable.
public struct DesiredView: Codable, Sendable, Equatable {
    /// Increases with every change.
    public var version: UInt32
    /// `program`, `level`, `on`, `off` or `override`.
    public var mode: String
    /// The level asked for, percent, when the mode sets one.
    public var level: Double?
    /// When an override ends.
    public var overrideUntil: Date?
    /// Fade, seconds.
    public var fadeSeconds: Double

    /// A desired-state view.
    public init(version: UInt32, mode: String, level: Double?, overrideUntil: Date?, fadeSeconds: Double) {
        self.version = version
        self.mode = mode
        self.level = level
        self.overrideUntil = overrideUntil
        self.fadeSeconds = fadeSeconds
    }
}

/// The last status a lamp reported, readable.
public struct ReportedView: Codable, Sendable, Equatable {
    /// The control version the lamp has applied.
    public var appliedVersion: UInt32
    /// Output level now, percent.
    public var level: Double
    /// `program`, `override`, `manual`, `failSafe` or `mode-N`.
    public var mode: String
    /// Whether it is lit.
    public var lit: Bool
    /// Active power, watts.
    public var powerWatts: Double
    /// Energy since manufacture, watt-hours.
    public var energyWattHours: UInt32
    /// Time lit since manufacture, hours.
    public var burnHours: Double
    /// Faults present, by name.
    public var faults: [String]
    /// Temperature, °C.
    public var temperatureCelsius: Int?
    /// Ambient light, lux.
    public var ambientLux: Int?
    /// Firmware label from the last hello.
    public var firmware: String?
    /// When this report arrived.
    public var reportedAt: Date
    /// The lamp's own clock when it made the report (what its program runs by).
    public var lampClock: Date?

    /// A reported-state view.
    public init(
        appliedVersion: UInt32, level: Double, mode: String, lit: Bool, powerWatts: Double, energyWattHours: UInt32,
        burnHours: Double, faults: [String], temperatureCelsius: Int?, ambientLux: Int?, firmware: String?,
        reportedAt: Date
    ) {
        self.appliedVersion = appliedVersion
        self.level = level
        self.mode = mode
        self.lit = lit
        self.powerWatts = powerWatts
        self.energyWattHours = energyWattHours
        self.burnHours = burnHours
        self.faults = faults
        self.temperatureCelsius = temperatureCelsius
        self.ambientLux = ambientLux
        self.firmware = firmware
        self.reportedAt = reportedAt
    }
}

/// A page of lamps.
public struct LampPage: Codable, Sendable, Equatable {
    /// The lamps on this page.
    public var lamps: [LampView]
    /// How many lamps match in all.
    public var total: Int
    /// How many matching lamps were skipped before this page.
    public var offset: Int
    /// The page size asked for.
    public var limit: Int

    /// A page.
    public init(lamps: [LampView], total: Int, offset: Int, limit: Int) {
        self.lamps = lamps
        self.total = total
        self.offset = offset
        self.limit = limit
    }
}

/// A lamp to register.
public struct LampRegistration: Codable, Sendable, Equatable {
    /// The lamp id (1 to 32 of `A-Z a-z 0-9 . _ -`).
    public var id: String
    /// A human name.
    public var name: String?
    /// Groups.
    public var groups: [String]?
    /// Latitude, -90...90.
    public var latitude: Double?
    /// Longitude, -180...180.
    public var longitude: Double?
    /// Rated power at full light, watts (0 to 6553).
    public var wattage: Double?
    /// The cabinet (feeder pillar) it is fed from: 1 to 64 characters of A-Z a-z 0-9 . _ -.
    public var cabinet: String?

    /// A registration.
    public init(
        id: String, name: String? = nil, groups: [String]? = nil, latitude: Double? = nil, longitude: Double? = nil,
        wattage: Double? = nil, cabinet: String? = nil
    ) {
        self.cabinet = cabinet
        self.id = id
        self.name = name
        self.groups = groups
        self.latitude = latitude
        self.longitude = longitude
        self.wattage = wattage
    }
}

/// A change to a lamp's registration (`PATCH /api/v1/lamps/{id}`): each field given replaces
/// the registered one; absent fields stay. Latitude and longitude go together. Groups change
/// through `POST /api/v1/groups/{name}/members`.
public struct LampUpdate: Codable, Sendable, Equatable {
    /// A human name.
    public var name: String?
    /// Latitude, -90...90.
    public var latitude: Double?
    /// Longitude, -180...180.
    public var longitude: Double?
    /// Rated power at full light, watts (0 to 6553).
    public var wattage: Double?
    /// The cabinet (feeder pillar) it is fed from.
    public var cabinet: String?

    /// A change.
    public init(name: String? = nil, latitude: Double? = nil, longitude: Double? = nil, wattage: Double? = nil, cabinet: String? = nil) {
        self.cabinet = cabinet
        self.name = name
        self.latitude = latitude
        self.longitude = longitude
        self.wattage = wattage
    }
}

/// The answer to a request the API refused.
public struct APIError: Codable, Sendable, Equatable, Error {
    /// What was wrong, in words.
    public var error: String
    /// The request field at fault, when one is.
    public var field: String?

    /// An error body.
    public init(error: String, field: String? = nil) {
        self.error = error
        self.field = field
    }
}

/// The JSON coders the API uses: ISO 8601 dates in UTC with milliseconds
/// (`2026-11-29T21:04:05.120Z`; reading accepts them without), sorted keys for stable output.
public enum APICoding {
    /// An encoder for API bodies.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(millisecondsStyle))
        }
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// A decoder for API bodies.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if let date = (try? millisecondsStyle.parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text)) {
                return date
            }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(text) is not an ISO 8601 date")
        }
        return decoder
    }

    static let millisecondsStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}

/// One entry of the event history (`GET /api/v1/events`).
public struct EventView: Codable, Sendable, Equatable {
    /// Increasing id.
    public var id: Int64
    /// The lamp.
    public var lamp: String
    /// `online`, `offline`, `fault.raised`, `fault.cleared`, `power.up`, `clock.lost`,
    /// `auth.failed`, `command.refused`.
    public var kind: String
    /// Details.
    public var detail: String
    /// When.
    public var at: Date

    /// An event view.
    public init(id: Int64, lamp: String, kind: String, detail: String, at: Date) {
        self.id = id
        self.lamp = lamp
        self.kind = kind
        self.detail = detail
        self.at = at
    }
}

/// Live counters of the controller (`GET /api/v1/stats`).
public struct StatsView: Codable, Sendable, Equatable {
    /// Lamps registered.
    public var lampsRegistered: Int
    /// Lamps with an authenticated link.
    public var lampsOnline: Int
    /// Links in their handshake now.
    public var pendingHandshakes: Int
    /// Handshakes that ended in a welcome, since start.
    public var handshakesAccepted: Int
    /// Handshakes refused, since start.
    public var handshakesRefused: Int
    /// Links replaced by a newer link of the same lamp, since start.
    public var linksReplaced: Int
    /// Links closed for a malformed or oversize message, since start.
    public var linksClosedMalformed: Int
    /// Protocol messages received from lamps, since start.
    public var messagesIn: Int
    /// Protocol messages sent to lamps, since start.
    public var messagesOut: Int
    /// Event-stream connections open now.
    public var streamSubscribers: Int
    /// Event-stream connections cut off for falling behind, since start.
    public var streamSubscribersDropped: Int

    /// A stats view.
    public init(
        lampsRegistered: Int, lampsOnline: Int, pendingHandshakes: Int, handshakesAccepted: Int, handshakesRefused: Int,
        linksReplaced: Int, linksClosedMalformed: Int, messagesIn: Int, messagesOut: Int, streamSubscribers: Int,
        streamSubscribersDropped: Int
    ) {
        self.streamSubscribers = streamSubscribers
        self.streamSubscribersDropped = streamSubscribersDropped
        self.lampsRegistered = lampsRegistered
        self.lampsOnline = lampsOnline
        self.pendingHandshakes = pendingHandshakes
        self.handshakesAccepted = handshakesAccepted
        self.handshakesRefused = handshakesRefused
        self.linksReplaced = linksReplaced
        self.linksClosedMalformed = linksClosedMalformed
        self.messagesIn = messagesIn
        self.messagesOut = messagesOut
    }
}

/// `POST /api/v1/keys/rekey`: rotate the keys of these lamps (admin).
public struct RekeyRequest: Codable, Sendable, Equatable {
    /// `lamp:ID`, `group:NAME` or `all`.
    public var target: String

    /// A request.
    public init(target: String) { self.target = target }
}

/// The answer to a rekey request: which lamps will get a new key, and which cannot.
public struct RekeyResult: Codable, Sendable, Equatable {
    /// Lamp id → the generation it will be given (SPEC.md §8.12) as soon as it is linked;
    /// a lamp that already had a rotation pending keeps that one.
    public var pending: [String: UInt32]
    /// Lamp id → why its key cannot be rotated (a lamp whose last hello was of protocol
    /// minor 0 or 1 has no authenticated frames to carry a key).
    public var refused: [String: String]

    /// A result.
    public init(pending: [String: UInt32], refused: [String: String]) {
        self.pending = pending
        self.refused = refused
    }
}

/// `GET /api/v1/keys`: where the fleet's lamp keys stand.
public struct KeysView: Codable, Sendable, Equatable {
    /// Lamp count by key generation ("0", "1", ...).
    public var generations: [String: Int]
    /// Lamps with a rotation not yet proven by the lamp.
    public var pending: [String]
    /// Lamps whose key cannot be rotated: their last hello was of protocol minor 0 or 1.
    public var unrotatable: [String]
    /// The current fleet master key's id (the first 8 bytes of its SHA-256, in hex).
    public var currentMaster: String
    /// The ids of older master keys still in the key file, newest first.
    public var olderMasters: [String]
    /// Lamp count by the id of the master key their current key derives from.
    public var masters: [String: Int]

    /// A view.
    public init(
        generations: [String: Int], pending: [String], unrotatable: [String], currentMaster: String, olderMasters: [String],
        masters: [String: Int]
    ) {
        self.generations = generations
        self.pending = pending
        self.unrotatable = unrotatable
        self.currentMaster = currentMaster
        self.olderMasters = olderMasters
        self.masters = masters
    }
}
