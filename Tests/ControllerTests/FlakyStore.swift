import FleetCore
import FleetStore
import LampProtocol
import Synchronization

/// A store double for the controller's tests: the real SQLite store, except that writing
/// events fails while ``failEvents`` is set (a full disk, a lost database), and every event
/// write is counted.
final class FlakyStore: FleetStoring {
    struct Failure: Error {}
    /// What a failing read throws: an error whose text carries SQL, as GRDB's do.
    struct SQLFailure: Error, CustomStringConvertible {
        var description: String { "SQLite error 1: no such table: audit - while executing `SELECT * FROM audit ORDER BY id DESC LIMIT ?`" }
    }

    let real: FleetStore
    private let failing = Atomic<Bool>(false)
    private let writes = Atomic<Int>(0)
    private let jitter = Atomic<Bool>(false)
    private let tokenReadCount = Atomic<Int>(0)
    private let readsFail = Atomic<Bool>(false)
    private let tokenReadsHang = Atomic<Bool>(false)

    /// Whether reads of the token table never answer (a pool waiting for a database that
    /// cannot be reached), ignoring cancellation.
    var hangTokenReads: Bool {
        get { tokenReadsHang.load(ordering: .relaxed) }
        set { tokenReadsHang.store(newValue, ordering: .relaxed) }
    }

    /// Whether reads of the audit log and of groups fail with SQL in the error's text.
    var failReads: Bool {
        get { readsFail.load(ordering: .relaxed) }
        set { readsFail.store(newValue, ordering: .relaxed) }
    }

    init(_ real: FleetStore) { self.real = real }

    /// Whether event writes fail.
    var failEvents: Bool {
        get { failing.load(ordering: .relaxed) }
        set { failing.store(newValue, ordering: .relaxed) }
    }

    /// Whether group writes answer after a random delay of up to 1.5 ms (the write itself is
    /// done at once): a network database's reply latency.
    var replyJitter: Bool {
        get { jitter.load(ordering: .relaxed) }
        set { jitter.store(newValue, ordering: .relaxed) }
    }

    private func reply() async throws {
        if replyJitter { try await Task.sleep(for: .microseconds(Int.random(in: 0...1500))) }
    }

    /// Event writes tried so far.
    var eventWrites: Int { writes.load(ordering: .relaxed) }

    func appendEvents(_ batch: [EventRecord]) async throws -> [Bool] {
        writes.wrappingAdd(1, ordering: .relaxed)
        if failEvents { throw Failure() }
        return try real.appendEvents(batch)
    }

    func addLamps(_ records: [LampRecord], config: DesiredConfig, atMilliseconds now: UInt64) async throws {
        try real.addLamps(records, config: config, atMilliseconds: now)
    }
    func lamp(_ id: LampID) async throws -> StoredLamp? { try real.lamp(id) }
    func saveIncidents(_ batch: [IncidentRecord], audit: AuditRecord?) async throws { try real.saveIncidents(batch, audit: audit) }
    func incidents(state: IncidentState?, kind: FaultKind?, lamp: LampID?, cabinet: String?, limit: Int) async throws -> [IncidentRecord] {
        try real.incidents(state: state, kind: kind, lamp: lamp, cabinet: cabinet, limit: limit)
    }
    func incident(_ id: Int64) async throws -> IncidentRecord? { try real.incident(id) }
    func unresolvedIncidents() async throws -> (incidents: [IncidentRecord], highestID: Int64) { try real.unresolvedIncidents() }
    func loadAll() async throws -> [StoredLamp] { try real.loadAll() }
    func highestControlVersion() async throws -> UInt32 { try real.highestControlVersion() }
    func highestProgramRevision() async throws -> UInt32 { try real.highestProgramRevision() }
    func fleetEpoch() async throws -> FleetEpoch { try real.fleetEpoch() }
    func reissueDesired(_ id: LampID, _ desired: DesiredState, atMilliseconds now: UInt64) async throws {
        try real.reissueDesired(id, desired, atMilliseconds: now)
    }
    func updateLamp(_ record: LampRecord, programRevision: UInt32?, audit: AuditRecord) async throws -> Bool {
        try real.updateLamp(record, programRevision: programRevision, audit: audit)
    }
    func removeLamp(_ id: LampID, audit: AuditRecord) async throws -> Bool { try real.removeLamp(id, audit: audit) }
    func setRevoked(_ id: LampID, _ revoked: Bool, audit: AuditRecord) async throws -> Bool { try real.setRevoked(id, revoked, audit: audit) }
    func requestRekey(_ ids: [LampID], audit: AuditRecord) async throws -> [LampID: UInt32] { try real.requestRekey(ids, audit: audit) }
    func rotateMaster(from oldMaster: String, audit: AuditRecord) async throws -> [LampID: UInt32] {
        try real.rotateMaster(from: oldMaster, audit: audit)
    }
    func retireMasters(_ masters: [String], audit: AuditRecord) async throws -> Int { try real.retireMasters(masters, audit: audit) }
    func completeRekey(_ id: LampID, generation: UInt32, audit: AuditRecord) async throws -> Bool {
        try real.completeRekey(id, generation: generation, audit: audit)
    }
    func prune(eventsBefore: UInt64?, auditBefore: UInt64?) async throws -> (events: Int, audit: Int) {
        try real.prune(eventsBefore: eventsBefore, auditBefore: auditBefore)
    }
    func setReportInterval(_ seconds: UInt16, atMilliseconds now: UInt64) async throws -> Int {
        try real.setReportInterval(seconds, atMilliseconds: now)
    }
    func recordCommand(
        target: CommandTarget, control: DesiredControl?, action: CommandAction, audit: AuditRecord?, atMilliseconds now: UInt64
    ) async throws -> Int64 {
        try await real.recordCommand(target: target, control: control, action: action, audit: audit, atMilliseconds: now)
    }
    func command(_ id: Int64) async throws -> CommandRecord? { try real.command(id) }
    func recordCommand(
        target: CommandTarget, control: DesiredControl?, action: CommandAction, audit: AuditRecord?, idempotency claim: IdempotencyClaim,
        atMilliseconds now: UInt64
    ) async throws -> CommandRecording {
        try await real.recordCommand(target: target, control: control, action: action, audit: audit, idempotency: claim, atMilliseconds: now)
    }
    func idempotentCommand(caller: String, key: String, atMilliseconds now: UInt64) async throws -> IdempotentCommand? {
        try real.idempotentCommand(caller: caller, key: key, atMilliseconds: now)
    }
    func saveReported(_ batch: [ReportedRecord]) async throws { try real.saveReported(batch) }
    func addEnergy(_ batch: [EnergyHour]) async throws { try real.addEnergy(batch) }
    func energy(target: CommandTarget, fromHour: Int32, toHour: Int32, step: EnergyStep) async throws -> [EnergyTotal] {
        try real.energy(target: target, fromHour: fromHour, toHour: toHour, step: step)
    }
    func pruneEnergy(before hour: Int32) async throws -> Int { try real.pruneEnergy(before: hour) }
    func events(lampID: LampID?, kind: String?, beforeID: Int64?, limit: Int) async throws -> [EventRecord] {
        try real.events(lampID: lampID, kind: kind, beforeID: beforeID, limit: limit)
    }
    func createToken(_ token: TokenRecord, audit: AuditRecord) async throws { try real.createToken(token, audit: audit) }
    func token(hash: [UInt8]) async throws -> TokenRecord? {
        tokenReadCount.wrappingAdd(1, ordering: .relaxed)
        return try real.token(hash: hash)
    }
    func tokens() async throws -> [TokenRecord] {
        tokenReadCount.wrappingAdd(1, ordering: .relaxed)
        while hangTokenReads { try? await Task.sleep(for: .milliseconds(20)) }
        return try real.tokens()
    }
    /// Reads of the token table so far (one token or all).
    var tokenReads: Int { tokenReadCount.load(ordering: .relaxed) }
    func revokeToken(named name: String, audit: AuditRecord) async throws -> Bool { try real.revokeToken(named: name, audit: audit) }
    func appendAudit(_ audit: AuditRecord) async throws { try real.appendAudit(audit) }
    func audit(actor: String?, action: String?, beforeID: Int64?, limit: Int) async throws -> [AuditRecord] {
        if failReads { throw SQLFailure() }
        return try real.audit(actor: actor, action: action, beforeID: beforeID, limit: limit)
    }
    func groups() async throws -> [GroupRecord] {
        if failReads { throw SQLFailure() }
        return try real.groups()
    }
    func createGroup(_ name: String, description: String?, audit: AuditRecord) async throws {
        try real.createGroup(name, description: description, audit: audit)
        try await reply()
    }
    func deleteGroup(_ name: String, audit: AuditRecord) async throws -> Bool {
        let deleted = try real.deleteGroup(name, audit: audit)
        try await reply()
        return deleted
    }
    func changeMembers(of name: String, add: [LampID], remove: [LampID], audit: AuditRecord) async throws {
        try real.changeMembers(of: name, add: add, remove: remove, audit: audit)
        try await reply()
    }
    func programs() async throws -> [ProgramRecord] { try real.programs() }
    func saveProgram(_ name: String, source: String, revision: UInt32, audit: AuditRecord) async throws {
        try real.saveProgram(name, source: source, revision: revision, audit: audit)
    }
    func deleteProgram(_ name: String, audit: AuditRecord) async throws -> Bool { try real.deleteProgram(name, audit: audit) }
    func assignProgram(_ name: String?, target: CommandTarget, revision: UInt32, audit: AuditRecord) async throws {
        try real.assignProgram(name, target: target, revision: revision, audit: audit)
    }
}
