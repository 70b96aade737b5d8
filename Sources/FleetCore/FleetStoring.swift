import LampProtocol

/// Where the fleet's durable state lives: registrations, desired state (written before an
/// operator is answered), reported state and events (batched), commands, tokens, the audit
/// log, groups and programs.
///
/// FleetStore (SQLite, the embedded default) implements it; the controller only sees this
/// protocol, so a second backend is a second conformance. Every method may suspend: a
/// network database answers asynchronously. A refusal that is the caller's doing (a taken
/// id, a program still assigned) is thrown as ``FleetError`` with kind `conflict`; anything
/// else thrown is a storage failure.
public protocol FleetStoring: Sendable {
    // MARK: Lamps

    /// Registers lamps with the initial desired state (and `config`), all or none.
    func addLamps(_ records: [LampRecord], config: DesiredConfig, atMilliseconds now: UInt64) async throws
    /// One lamp, or nil if it is not registered.
    func lamp(_ id: LampID) async throws -> StoredLamp?
    /// Every lamp with its desired and reported state.
    func loadAll() async throws -> [StoredLamp]
    /// The highest control version ever handed out.
    func highestControlVersion() async throws -> UInt32
    /// The highest program revision ever handed out.
    func highestProgramRevision() async throws -> UInt32
    /// Changes a lamp's registration with its audit entry; with `programRevision`, the lamp
    /// gets its program again at that revision. False if no such lamp is registered.
    func updateLamp(_ record: LampRecord, programRevision: UInt32?, audit: AuditRecord) async throws -> Bool
    /// Removes a lamp (registration, desired and reported state, memberships; not its events)
    /// with its audit entry. False if it is not registered.
    func removeLamp(_ id: LampID, audit: AuditRecord) async throws -> Bool
    /// Revokes (`revoked`) or restores a lamp, with its audit entry; false if it is unknown.
    func setRevoked(_ id: LampID, _ revoked: Bool, audit: AuditRecord) async throws -> Bool
    /// Starts a key rotation for each lamp without one pending (pending = current + 1), with
    /// one audit entry; returns each known lamp's pending generation (SPEC.md §8.12).
    func requestRekey(_ ids: [LampID], audit: AuditRecord) async throws -> [LampID: UInt32]
    /// Makes the lamp's pending key `generation` current, with its audit entry; false if it
    /// is not the pending one.
    func completeRekey(_ id: LampID, generation: UInt32, audit: AuditRecord) async throws -> Bool
    /// Records a fleet master-key rotation away from `oldMaster` (every lamp pinned to it and
    /// given a rotation under the new one), with its audit entry; each lamp's pending generation.
    func rotateMaster(from oldMaster: String, audit: AuditRecord) async throws -> [LampID: UInt32]
    /// How many lamps still use any of `masters`; with none, the audit entry is recorded.
    func retireMasters(_ masters: [String], audit: AuditRecord) async throws -> Int
    /// Deletes events and audit entries older than the given times (nil keeps them).
    func prune(eventsBefore: UInt64?, auditBefore: UInt64?) async throws -> (events: Int, audit: Int)
    /// The database's fleet epoch (SPEC.md §5.4): made with the database, kept by its copies.
    func fleetEpoch() async throws -> FleetEpoch
    /// Stores a lamp's desired state issued again at fresh versions because the lamp reported
    /// versions ahead of it (SPEC.md §8.0); a newer stored control version wins.
    func reissueDesired(_ id: LampID, _ desired: DesiredState, atMilliseconds now: UInt64) async throws
    /// Makes `seconds` every lamp's desired report interval; returns how many changed.
    func setReportInterval(_ seconds: UInt16, atMilliseconds now: UInt64) async throws -> Int

    // MARK: Commands

    /// Stores a command and makes `control` the desired control state of every lamp in
    /// `target` (those holding an older version), with its audit entry, atomically; returns
    /// the command's id. A nil `control` (identify, reboot) changes no desired state.
    func recordCommand(
        target: CommandTarget, control: DesiredControl?, action: CommandAction, audit: AuditRecord?, atMilliseconds now: UInt64
    ) async throws -> Int64
    /// ``recordCommand(target:control:action:audit:atMilliseconds:)`` under an idempotency
    /// key, in the same transaction: if `claim`'s caller used the key within
    /// ``IdempotencyClaim/retentionMilliseconds``, nothing is recorded and the command that
    /// first use made is returned (`.replayed`), whatever this request says (the caller
    /// compares). Keys older than the retention are pruned.
    func recordCommand(
        target: CommandTarget, control: DesiredControl?, action: CommandAction, audit: AuditRecord?, idempotency claim: IdempotencyClaim,
        atMilliseconds now: UInt64
    ) async throws -> CommandRecording
    /// The command a caller's idempotency key made within the retention, or nil.
    func idempotentCommand(caller: String, key: String, atMilliseconds now: UInt64) async throws -> IdempotentCommand?
    /// A stored command, or nil.
    func command(_ id: Int64) async throws -> CommandRecord?

    // MARK: Reported state and events

    /// Writes a batch of reported states (newest wins per lamp).
    func saveReported(_ batch: [ReportedRecord]) async throws
    /// Appends a batch of events in one transaction; a lamp's event already stored (the same
    /// lamp and ``EventRecord/lampEvent``) is not stored again. Returns, per record, whether
    /// it was stored (false: a duplicate). When this returns, the batch is durable.
    @discardableResult
    func appendEvents(_ batch: [EventRecord]) async throws -> [Bool]
    /// The newest events, newest first; optionally of one lamp, of one kind, older than an id.
    func events(lampID: LampID?, kind: String?, beforeID: Int64?, limit: Int) async throws -> [EventRecord]

    // MARK: Energy

    /// Adds hourly energy to what is stored for each lamp and hour, in one transaction (a
    /// lamp no longer registered is skipped).
    func addEnergy(_ batch: [EnergyHour]) async throws
    /// The energy of a target's lamps from `fromHour` up to (not including) `toHour`, per
    /// step, oldest first; steps without energy are left out.
    func energy(target: CommandTarget, fromHour: Int32, toHour: Int32, step: EnergyStep) async throws -> [EnergyTotal]
    /// Deletes hourly energy before `hour`; returns how many lamp-hours.
    func pruneEnergy(before hour: Int32) async throws -> Int

    // MARK: Tokens and audit

    /// Stores a new token with its audit entry; a taken name is a conflict.
    func createToken(_ token: TokenRecord, audit: AuditRecord) async throws
    /// The token with this hash, or nil.
    func token(hash: [UInt8]) async throws -> TokenRecord?
    /// Every token.
    func tokens() async throws -> [TokenRecord]
    /// Revokes a token; false if there is none so named; a conflict for the last admin token.
    func revokeToken(named name: String, audit: AuditRecord) async throws -> Bool
    /// Appends one audit entry.
    func appendAudit(_ audit: AuditRecord) async throws
    /// The audit log, newest first.
    func audit(actor: String?, action: String?, beforeID: Int64?, limit: Int) async throws -> [AuditRecord]

    // MARK: Groups

    /// Every group with its size.
    func groups() async throws -> [GroupRecord]
    /// Creates an empty group; a taken name is a conflict.
    func createGroup(_ name: String, description: String?, audit: AuditRecord) async throws
    /// Deletes a group (its lamps stay); false if there is none so named.
    func deleteGroup(_ name: String, audit: AuditRecord) async throws -> Bool
    /// Adds and removes members, all or nothing.
    func changeMembers(of name: String, add: [LampID], remove: [LampID], audit: AuditRecord) async throws

    // MARK: Incidents

    /// Stores incidents as they now are (newest state wins by id), with an operator's audit
    /// entry if given, in one transaction.
    func saveIncidents(_ batch: [IncidentRecord], audit: AuditRecord?) async throws
    /// Incidents newest first, filtered by state, kind, lamp and cabinet (nil: any).
    func incidents(state: IncidentState?, kind: FaultKind?, lamp: LampID?, cabinet: String?, limit: Int) async throws -> [IncidentRecord]
    /// One incident, or nil.
    func incident(_ id: Int64) async throws -> IncidentRecord?
    /// The unresolved incidents and the highest incident id ever used.
    func unresolvedIncidents() async throws -> (incidents: [IncidentRecord], highestID: Int64)

    // MARK: Programs

    /// Every program, by name.
    func programs() async throws -> [ProgramRecord]
    /// Creates or replaces a program; lamps running it get `revision`.
    func saveProgram(_ name: String, source: String, revision: UInt32, audit: AuditRecord) async throws
    /// Deletes an unassigned program; false if none is so named; a conflict if lamps run it.
    func deleteProgram(_ name: String, audit: AuditRecord) async throws -> Bool
    /// Assigns a program (nil: none) to a target's lamps as `revision`.
    func assignProgram(_ name: String?, target: CommandTarget, revision: UInt32, audit: AuditRecord) async throws
}
