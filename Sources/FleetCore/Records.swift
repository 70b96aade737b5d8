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
    /// The cabinet (feeder pillar) it is fed from: lamps of one cabinet lose power together,
    /// and fault detection groups them (one incident for the cabinet, not one per lamp).
    public var cabinet: String?
    /// Revoked: its hellos are refused like an unknown id's, until it is restored.
    public var revoked = false
    /// The generation of the lamp's current key (SPEC.md §4.1): 0 until its first rekey.
    public var keyGeneration: UInt32 = 0
    /// The generation of a rekey not yet proven by the lamp (§8.12): its hellos are checked
    /// against this key too, until its ack or a hello with it makes it current.
    public var pendingKeyGeneration: UInt32?
    /// The id of the older fleet master key the current key derives from (SPEC.md §4.1);
    /// nil: the current master key.
    public var keyMaster: String?
    /// The id of the older master key the pending key derives from; nil: the current one.
    public var pendingKeyMaster: String?

    /// A registration.
    public init(
        id: LampID, name: String? = nil, latitude: Double? = nil, longitude: Double? = nil, wattage: Double? = nil,
        groups: [String] = [], cabinet: String? = nil
    ) {
        self.cabinet = cabinet
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
    /// The lamp's own identity of an event it sent (SPEC.md §7.2): its sequence and its
    /// timestamp (the lamp's clock, Unix s; 0 if unset). nil for events the controller made
    /// (online, offline, refusals). A store keeps one row per lamp and identity, however often
    /// the lamp sends it (see ``LampEventIdentity``).
    public var lampEvent: LampEventIdentity?

    /// An event.
    public init(
        id: Int64? = nil, lampID: LampID, kind: String, detail: String, atMilliseconds: UInt64, lampEvent: LampEventIdentity? = nil
    ) {
        self.id = id
        self.lampID = lampID
        self.kind = kind
        self.detail = detail
        self.atMilliseconds = atMilliseconds
        self.lampEvent = lampEvent
    }
}

/// What makes a lamp's event the same event when the lamp sends it again (after a lost ack,
/// on another link, after a controller restart): its sequence, and its own timestamp.
///
/// SPEC.md §7.2 names the sequence; the timestamp is part of the key too so that a sequence
/// used again is not taken for an old event: after the u32 wraps (2^32 events, 136 years at
/// one a second), or when a lamp's counter starts again (a lamp replaced under the same id,
/// a firmware reset, a simulator started again). The one case the key cannot tell apart is a
/// lamp without a clock (time 0) whose counter restarted: its event is taken for the old one.
public struct LampEventIdentity: Sendable, Hashable {
    /// The lamp's event counter.
    public var sequence: UInt32
    /// The lamp's timestamp of the event, Unix s by its clock (0: not set).
    public var lampTime: UInt32

    /// An identity.
    public init(sequence: UInt32, lampTime: UInt32) {
        self.sequence = sequence
        self.lampTime = lampTime
    }
}

/// A request's claim on an idempotency key (`Idempotency-Key` of `POST /api/v1/commands`),
/// stored in the command's transaction so a crash cannot keep one without the other.
public struct IdempotencyClaim: Sendable, Hashable {
    /// How long a key is kept: 24 hours (a retry after a day is a new request).
    public static let retentionMilliseconds: UInt64 = 24 * 3600 * 1000

    /// Who sent it (the token's name): keys are per caller.
    public var caller: String
    /// The key.
    public var key: String
    /// The request in canonical form (to tell a retry from another request under the key).
    public var request: String
    /// How many lamps the command addressed (part of its answer).
    public var lamps: Int

    /// A claim.
    public init(caller: String, key: String, request: String, lamps: Int) {
        self.caller = caller
        self.key = key
        self.request = request
        self.lamps = lamps
    }
}

/// The command an idempotency key made.
public struct IdempotentCommand: Sendable, Hashable {
    /// The command's id.
    public var commandID: Int64
    /// Its target as written (``CommandTarget/description``).
    public var target: String
    /// How many lamps it addressed.
    public var lamps: Int
    /// The request that made it, in canonical form.
    public var request: String

    /// A command made under a key.
    public init(commandID: Int64, target: String, lamps: Int, request: String) {
        self.commandID = commandID
        self.target = target
        self.lamps = lamps
        self.request = request
    }
}

/// What recording a command under an idempotency key did.
public enum CommandRecording: Sendable, Hashable {
    /// Recorded as a new command with this id.
    case recorded(Int64)
    /// The key was used before: nothing recorded; this is the command it made.
    case replayed(IdempotentCommand)
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
