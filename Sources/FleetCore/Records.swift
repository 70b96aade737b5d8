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
    /// What it does.
    public var action: CommandAction
    /// The control version it gave every lamp it addressed.
    public var version: UInt32
    /// When it was accepted, Unix ms.
    public var createdAtMilliseconds: UInt64

    /// A command.
    public init(id: Int64, target: CommandTarget, action: CommandAction, version: UInt32, createdAtMilliseconds: UInt64) {
        self.id = id
        self.target = target
        self.action = action
        self.version = version
        self.createdAtMilliseconds = createdAtMilliseconds
    }
}

/// An API token as stored: never the token itself, only its SHA-256.
public struct TokenRecord: Sendable, Hashable {
    /// Unique name, e.g. `night-shift` or `scada-bridge`.
    public var name: String
    /// `viewer`, `operator` or `admin`.
    public var role: String
    /// SHA-256 of the token.
    public var hash: [UInt8]
    /// When it was made.
    public var createdAtMilliseconds: UInt64
    /// Who made it: a token's name, or `command line`.
    public var createdBy: String

    /// A token record.
    public init(name: String, role: String, hash: [UInt8], createdAtMilliseconds: UInt64, createdBy: String) {
        self.name = name
        self.role = role
        self.hash = hash
        self.createdAtMilliseconds = createdAtMilliseconds
        self.createdBy = createdBy
    }
}

/// One line of the audit log: who did what to which target, when, and how it ended.
public struct AuditRecord: Sendable, Hashable {
    /// Row id; nil before it is stored.
    public var id: Int64?
    /// When.
    public var atMilliseconds: UInt64
    /// The token's name, or `command line` for lamplighterd's own subcommands.
    public var actor: String
    /// The actor's role at the time.
    public var role: String
    /// What, e.g. `command`, `token.create`, `group.delete`, `denied`.
    public var action: String
    /// On what: `all`, `group:NAME`, `lamp:ID`, a token's name, a route.
    public var target: String
    /// The particulars, e.g. `level 30.0% fade 0.0s`.
    public var detail: String
    /// `ok`, or why it was refused.
    public var outcome: String

    /// An audit entry.
    public init(
        id: Int64? = nil, atMilliseconds: UInt64, actor: String, role: String, action: String, target: String, detail: String,
        outcome: String
    ) {
        self.id = id
        self.atMilliseconds = atMilliseconds
        self.actor = actor
        self.role = role
        self.action = action
        self.target = target
        self.detail = detail
        self.outcome = outcome
    }
}

/// A group of lamps, with how many lamps are in it.
public struct GroupRecord: Sendable, Hashable {
    /// The group's name.
    public var name: String
    /// What it is, for people.
    public var description: String?
    /// When it was made.
    public var createdAtMilliseconds: UInt64
    /// Lamps in it.
    public var lampCount: Int

    /// A group.
    public init(name: String, description: String?, createdAtMilliseconds: UInt64, lampCount: Int) {
        self.name = name
        self.description = description
        self.createdAtMilliseconds = createdAtMilliseconds
        self.lampCount = lampCount
    }
}

/// A stored lighting program: its file text and revision.
public struct ProgramRecord: Sendable, Hashable {
    /// Its name.
    public var name: String
    /// The revision its lamps were last given.
    public var revision: UInt32
    /// The program file's text (LightingPrograms.ProgramText).
    public var source: String
    /// When it last changed, and who changed it.
    public var updatedAtMilliseconds: UInt64
    public var updatedBy: String
    /// Lamps it is assigned to.
    public var lampCount: Int

    /// A program record.
    public init(name: String, revision: UInt32, source: String, updatedAtMilliseconds: UInt64, updatedBy: String, lampCount: Int) {
        self.name = name
        self.revision = revision
        self.source = source
        self.updatedAtMilliseconds = updatedAtMilliseconds
        self.updatedBy = updatedBy
        self.lampCount = lampCount
    }
}
