import FleetCore
import LampProtocol

/// A lamp's registration: who it is and where.
public struct LampRecord: Sendable, Hashable {
    /// The lamp's id.
    public var id: LampID
    /// A human name.
    public var name: String?
    /// Latitude, decimal degrees.
    public var latitude: Double?
    /// Longitude, decimal degrees.
    public var longitude: Double?
    /// Rated power at full light, watts.
    public var wattage: Double?
    /// Groups, sorted, without duplicates.
    public var groups: [String]

    /// A registration.
    public init(
        id: LampID, name: String? = nil, latitude: Double? = nil, longitude: Double? = nil, wattage: Double? = nil,
        groups: [String] = []
    ) {
        self.id = id
        self.name = name
        self.latitude = latitude
        self.longitude = longitude
        self.wattage = wattage
        self.groups = Array(Set(groups)).sorted()
    }
}

/// The last thing a lamp told the controller.
public struct ReportedRecord: Sendable, Hashable {
    /// The lamp.
    public var lampID: LampID
    /// Control version applied.
    public var appliedVersion: UInt32
    /// Config version applied.
    public var configVersion: UInt32
    /// Firmware label from its last hello.
    public var firmware: String?
    /// Its last status report, if any arrived.
    public var status: StatusReport?
    /// When the status arrived, Unix ms.
    public var reportedAtMilliseconds: UInt64
    /// When anything last arrived from it, Unix ms.
    public var lastSeenMilliseconds: UInt64

    /// A reported state.
    public init(
        lampID: LampID, appliedVersion: UInt32, configVersion: UInt32, firmware: String?, status: StatusReport?,
        reportedAtMilliseconds: UInt64, lastSeenMilliseconds: UInt64
    ) {
        self.lampID = lampID
        self.appliedVersion = appliedVersion
        self.configVersion = configVersion
        self.firmware = firmware
        self.status = status
        self.reportedAtMilliseconds = reportedAtMilliseconds
        self.lastSeenMilliseconds = lastSeenMilliseconds
    }
}

/// Everything stored about one lamp, as loaded at start-up.
public struct StoredLamp: Sendable, Hashable {
    /// Registration.
    public var record: LampRecord
    /// Desired state.
    public var desired: DesiredState
    /// Reported state, nil if the lamp never connected.
    public var reported: ReportedRecord?

    /// A stored lamp.
    public init(record: LampRecord, desired: DesiredState, reported: ReportedRecord?) {
        self.record = record
        self.desired = desired
        self.reported = reported
    }
}

/// Something that happened to a lamp, kept in the event history.
public struct EventRecord: Sendable, Hashable {
    /// Row id; nil before it is stored.
    public var id: Int64?
    /// The lamp.
    public var lampID: LampID
    /// `online`, `offline`, `fault.raised`, `fault.cleared`, `power.up`, `clock.lost`,
    /// `auth.failed`, `command.refused`, …
    public var kind: String
    /// Details, human-readable (e.g. the fault's name, the close code).
    public var detail: String
    /// When, Unix ms.
    public var atMilliseconds: UInt64

    /// An event.
    public init(id: Int64? = nil, lampID: LampID, kind: String, detail: String, atMilliseconds: UInt64) {
        self.id = id
        self.lampID = lampID
        self.kind = kind
        self.detail = detail
        self.atMilliseconds = atMilliseconds
    }
}

/// An operator command as stored.
public struct CommandRecord: Sendable, Hashable {
    /// Its id.
    public var id: Int64
    /// The lamps it addressed.
    public var target: CommandTarget
    /// What it does, e.g. `level 30.0% fade 2.0s`.
    public var action: String
    /// The control version it gave every lamp it addressed.
    public var version: UInt32
    /// When it was accepted, Unix ms.
    public var createdAtMilliseconds: UInt64

    /// A command.
    public init(id: Int64, target: CommandTarget, action: String, version: UInt32, createdAtMilliseconds: UInt64) {
        self.id = id
        self.target = target
        self.action = action
        self.version = version
        self.createdAtMilliseconds = createdAtMilliseconds
    }
}
