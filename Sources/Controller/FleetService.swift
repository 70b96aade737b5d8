import FleetCore
import LampAuth
import Foundation
import LampProtocol
import LightingPrograms
import Logging
import Metrics
import OperatorAPI

/// The operator's view of the fleet: registration, commands, progress, lamp views. The HTTP
/// API is a thin layer over this; it throws ``FleetError`` (the domain's refusals), which the
/// HTTP layer maps to status codes in one place.
///
/// Every change follows one order: validate, write the store (durable, with its audit entry),
/// change the fleet model, deliver to the lamps' links. Changes of lamps, groups and programs
/// run one at a time through ``mutations`` (store write and model change together, in the
/// same order for every writer); commands run beside each other, never beside such a change.
public final class FleetService: Sendable {
    let store: any FleetStoring
    let fleet: FleetState
    /// The one order of the fleet's changes (see ``FleetMutations``).
    let mutations: FleetMutations
    let gateway: LampGateway
    let events: FleetEvents
    let metrics: ControllerMetrics
    let clock: any FleetClock
    let logger: Logger
    /// The report interval every newly registered lamp is configured with.
    let reportIntervalSeconds: UInt16
    /// The API's tokens in memory, in step with the store.
    let tokenCache: TokenCache
    /// The key file the fleet master keys came from; nil when the key was given in hex
    /// (`--fleet-key`): a master-key rotation then has nowhere to keep the new key.
    let keyFile: String?
    /// Fault detection: its incidents are acknowledged and resolved through it.
    let faults: FaultWatch
    /// This controller's part among several on one database; nil alone (SQLite).
    let cluster: ClusterLink?

    init(
        store: any FleetStoring, fleet: FleetState, gateway: LampGateway, events: FleetEvents, metrics: ControllerMetrics,
        clock: any FleetClock, reportIntervalSeconds: UInt16, mutations: FleetMutations, keyFile: String? = nil, faults: FaultWatch,
        cluster: ClusterLink? = nil, logger: Logger
    ) {
        self.cluster = cluster
        self.faults = faults
        self.keyFile = keyFile
        self.store = store
        self.fleet = fleet
        self.mutations = mutations
        self.gateway = gateway
        self.events = events
        self.metrics = metrics
        self.clock = clock
        self.reportIntervalSeconds = reportIntervalSeconds
        self.tokenCache = TokenCache(store: store, clock: clock)
        self.logger = logger
    }

    /// Runs a store operation: a ``FleetError`` it throws passes through; anything else is
    /// logged with its cause and reported as a storage failure of `what`, without internals.
    ///
    /// With several controllers on PostgreSQL (``cluster``), a step is refused at once with
    /// 503 (``FleetError/unavailable``) while the database is known to be unreachable (its
    /// LISTEN connection was lost, or a command's write had no answer), and a step that fails
    /// while it is so is reported the same way: not a 500, and not a wait for a connection
    /// that will not come.
    func storing<Result>(_ what: String, _ body: () async throws -> Result) async throws(FleetError) -> Result {
        if let refusal = cluster?.refusal(what) { throw refusal }
        do {
            return try await body()
        } catch let error as FleetError {
            throw error
        } catch where cluster?.refusal(what) != nil {
            logger.warning("\(what) failed: the database cannot be reached", metadata: ["error": "\(error)"])
            throw cluster?.refusal(what) ?? .unavailable(what)
        } catch {
            let reference = ErrorReference.make()
            logger.error("\(what) failed", metadata: ["error": "\(error)", "error.reference": "\(reference)"])
            throw .storage(what, reference: reference)
        }
    }

    // MARK: Registration

    /// Registers lamps (durably), all or none, and audits it.
    public func register(_ registrations: [LampRegistration], by caller: Caller) async throws(FleetError) -> [LampView] {
        do {
            let views = try await register(registrations)
            let target = views.count == 1 ? "lamp:\(views[0].id)" : "\(views.count) lamps"
            await audit(caller, "lamps.register", target: target, detail: views.prefix(5).map(\.id).joined(separator: ", "), outcome: "ok")
            return views
        } catch {
            await audit(caller, "lamps.register", target: "\(registrations.count) lamps", detail: "", outcome: "refused: \(error.message)")
            throw error
        }
    }

    /// Registers lamps (durably), all or none.
    public func register(_ registrations: [LampRegistration]) async throws(FleetError) -> [LampView] {
        var records: [LampRecord] = []
        for (index, registration) in registrations.enumerated() {
            records.append(
                try LampRecord.validated(
                    id: registration.id, name: registration.name, latitude: registration.latitude, longitude: registration.longitude,
                    wattage: registration.wattage, groups: registration.groups ?? [], cabinet: registration.cabinet,
                    fieldPrefix: registrations.count > 1 ? "[\(index)]." : ""))
        }
        var seen: Set<LampID> = []
        for (index, record) in records.enumerated() where !seen.insert(record.id).inserted {
            throw .invalid("lists lamp \(record.id) twice", field: "[\(index)].id")
        }
        var config = DesiredConfig.initial
        config.reportIntervalSeconds = reportIntervalSeconds
        let now = clock.nowMilliseconds()
        return try await mutations.exclusive { () async throws(FleetError) -> [LampView] in
            let stored = try await storing("storing the lamps") { () async throws -> [StoredLamp] in
                try await store.addLamps(records, config: config, atMilliseconds: now)
                return records.map { StoredLamp(record: $0, desired: DesiredState(control: .initial, config: config), reported: nil) }
            }
            fleet.withModel { $0.add(stored) }
            await cluster?.changed(records.map(\.id))
            return records.compactMap { lampView($0.id) }
        }
    }

    /// Changes a lamp's registration (name, place, wattage, cabinet), durably and audited. A lamp that
    /// moved and runs a program gets it again, framed for its new place, as a new revision.
    public func updateLamp(_ text: String, _ update: LampUpdate, by caller: Caller) async throws(FleetError) -> LampView {
        try await mutations.exclusive { () async throws(FleetError) -> LampView in try await changeLamp(text, update, by: caller) }
    }

    private func changeLamp(_ text: String, _ update: LampUpdate, by caller: Caller) async throws(FleetError) -> LampView {
        guard let id = LampID(text), let current = fleet.entry(id) else { throw .notFound("no lamp \(text) is registered", field: "id") }
        let record = try FleetModel.changedRegistration(
            current.record, name: update.name, latitude: update.latitude, longitude: update.longitude, wattage: update.wattage,
            cabinet: update.cabinet)
        let revision = fleet.withModel { $0.needsProgramAgain(record) } ? try await nextProgramRevision() : nil
        var detail: [String] = []
        if record.name != current.record.name { detail.append("name \(record.name ?? "-")") }
        if record.latitude != current.record.latitude || record.longitude != current.record.longitude {
            detail.append("place \(record.latitude.map { "\($0)" } ?? "-"), \(record.longitude.map { "\($0)" } ?? "-")")
        }
        if record.wattage != current.record.wattage { detail.append("wattage \(record.wattage.map { "\($0)" } ?? "-")") }
        if record.cabinet != current.record.cabinet { detail.append("cabinet \(record.cabinet ?? "-")") }
        let audit = entry(caller, "lamps.update", target: "lamp:\(id)", detail: detail.joined(separator: "; "))
        let updated = try await storing("storing the lamp") {
            try await store.updateLamp(record, programRevision: revision, audit: audit)
        }
        guard updated else { throw .notFound("no lamp \(text) is registered", field: "id") }
        gateway.deliver(fleet.withModel { $0.updateRegistration(record, programRevision: revision) })
        await cluster?.changed([id])
        logger.info(
            "lamp updated",
            metadata: ["lamp.id": "\(id)", "lamp.change": "\(detail.joined(separator: "; "))", "api.caller": "\(caller.name)"])
        guard let view = lampView(id) else { throw .notFound("no lamp \(text) is registered", field: "id") }
        return view
    }

    /// Removes a lamp, durably and audited: it no longer counts, resolves or authenticates,
    /// and its open link is closed (4001). Its events stay in the history.
    public func removeLamp(_ text: String, by caller: Caller) async throws(FleetError) {
        guard let id = LampID(text) else { throw .notFound("no lamp \(text) is registered", field: "id") }
        try await mutations.exclusive { () async throws(FleetError) in
            guard fleet.entry(id) != nil else { throw .notFound("no lamp \(text) is registered", field: "id") }
            let audit = entry(caller, "lamps.remove", target: "lamp:\(id)", detail: "")
            let removed = try await storing("removing the lamp") { try await store.removeLamp(id, audit: audit) }
            guard removed else { throw .notFound("no lamp \(text) is registered", field: "id") }
            let now = clock.nowMilliseconds()
            if let slot = fleet.withModel({ $0.remove(id, atMilliseconds: now) }) {
                gateway.closeLinks([slot], code: LampCloseCode.authenticationFailed, reason: "lamp removed")
            }
            await cluster?.changed([id])
        }
        logger.notice("lamp removed", metadata: ["lamp.id": "\(id)", "api.caller": "\(caller.name)"])
    }

    /// Revokes a lamp (`revoked`) or restores it: stored with its audit entry, then its
    /// live link is closed at once (4001, "revoked") and its hellos are refused like an
    /// unknown id's (``GatewayShared/helloKeys(for:)``) until it is restored.
    public func setRevoked(_ text: String, _ revoked: Bool, by caller: Caller) async throws(FleetError) -> LampView {
        guard let id = LampID(text) else { throw .notFound("no lamp \(text) is registered", field: "id") }
        let view = try await mutations.exclusive { () async throws(FleetError) -> LampView in
            guard fleet.entry(id) != nil else { throw .notFound("no lamp \(text) is registered", field: "id") }
            let audit = entry(caller, revoked ? "lamps.revoke" : "lamps.restore", target: "lamp:\(id)", detail: "")
            let changed = try await storing(revoked ? "revoking the lamp" : "restoring the lamp") {
                try await store.setRevoked(id, revoked, audit: audit)
            }
            guard changed else { throw .notFound("no lamp \(text) is registered", field: "id") }
            let now = clock.nowMilliseconds()
            let slot = fleet.withModel { model -> Int? in
                guard let slot = model.slot(of: id) else { return nil }
                model.setRevoked(slot, revoked)
                return slot
            }
            if revoked, let slot {
                gateway.closeLinks([slot], code: LampCloseCode.authenticationFailed, reason: "revoked")
            }
            if !revoked, let slot, !(fleet.withModel { $0.lamps[slot].cannotRotateKey }) {
                // A restored lamp's key must be presumed stolen: its first link gives it a new
                // one (SPEC.md §8.12), and the old key is refused from then on.
                let rekeyAudit = entry(caller, "lamps.rekey", target: "lamp:\(id)", detail: "after restore")
                let pending = try await storing("starting the key rotation") { try await store.requestRekey([id], audit: rekeyAudit) }
                if let generation = pending[id] {
                    fleet.withModel { model in
                        model.setKeyGenerations(slot, current: model.lamps[slot].record.keyGeneration, pending: generation)
                    }
                }
            }
            await cluster?.changed([id])
            return fleet.withModel { model in model.entry(id).map { FleetService.view($0, atMilliseconds: now) } }!
        }
        logger.notice(revoked ? "lamp revoked" : "lamp restored", metadata: ["lamp.id": "\(id)", "api.caller": "\(caller.name)"])
        return view
    }

    // MARK: Keys

    /// Rotates the keys of the lamps in `target` (SPEC.md §8.12), admin only, audited: each
    /// gets a pending generation (current + 1; one already pending is kept), sent at once to
    /// a linked lamp and to the others when they link. The old key stays accepted until the
    /// lamp proves the new one. A lamp whose last hello in this run was of minor 0 or 1 is
    /// refused (its link has no tags to carry a key); naming only such a lamp is a conflict.
    public func rekey(_ request: RekeyRequest, by caller: Caller) async throws(FleetError) -> RekeyResult {
        guard let target = CommandTarget(request.target) else {
            throw .invalid("must be lamp:ID, group:NAME or all", field: "target")
        }
        let result = try await mutations.exclusive { () async throws(FleetError) -> RekeyResult in
            let (ids, refused) = try fleet.withModel { model throws(FleetError) -> ([LampID], [String: String]) in
                guard let slots = model.resolve(target) else {
                    throw .notFound("no lamp \(request.target.dropFirst(5)) is registered", field: "target")
                }
                if case .group(let name) = target, slots.isEmpty { throw .notFound("no lamp is in group \(name)", field: "target") }
                var ids: [LampID] = []
                var refused: [String: String] = [:]
                for slot in slots {
                    let entry = model.lamps[slot]
                    if entry.cannotRotateKey {
                        refused[entry.record.id.value] =
                            "its last hello was protocol 1.\(entry.minorVersion): frames are not authenticated, so its key cannot be rotated (SPEC.md §8.12)"
                    } else {
                        ids.append(entry.record.id)
                    }
                }
                return (ids, refused)
            }
            if ids.isEmpty, case .lamp = target, let reason = refused.values.first {
                throw .conflict("lamp \(request.target.dropFirst(5)): \(reason)", field: "target")
            }
            let audit = entry(caller, "lamps.rekey", target: target.description, detail: "\(ids.count) lamps, \(refused.count) refused")
            let pending = try await storing("starting the key rotation") { try await store.requestRekey(ids, audit: audit) }
            let slots = fleet.withModel { model -> [Int] in
                pending.compactMap { id, generation in
                    guard let slot = model.slot(of: id) else { return nil }
                    model.setKeyGenerations(slot, current: model.lamps[slot].record.keyGeneration, pending: generation)
                    return slot
                }
            }
            gateway.rekeyIfPending(slots)
            await cluster?.changed(Array(pending.keys))
            return RekeyResult(pending: Dictionary(uniqueKeysWithValues: pending.map { ($0.key.value, $0.value) }), refused: refused)
        }
        logger.notice(
            "lamp key rotation started", metadata: ["rekey.target": "\(request.target)", "rekey.lamps": "\(result.pending.count)", "api.caller": "\(caller.name)"])
        return result
    }

    /// Rotates the fleet master key without downtime (SPEC.md §4.1), admin only, audited: a
    /// new random key becomes current, the old one stays in the key file (one key per line,
    /// current first, replaced atomically, 0600) for the lamps that still derive from it,
    /// and every lamp is given a key of its next generation under the new master, at once
    /// when linked, else when it links. No link is closed. Refused (409) when the key was
    /// given in hex rather than a key file, or the file holds its most keys already.
    public func rotateMasterKey(by caller: Caller) async throws(FleetError) -> KeysView {
        guard let keyFile else {
            throw .conflict("the fleet key was given with --fleet-key / LAMPLIGHTER_FLEET_KEY: a rotation needs a key file to keep the new key in")
        }
        try await mutations.exclusive { () async throws(FleetError) -> Void in
            let ring = gateway.keyRing
            guard ring.older.count + 1 < FleetKey.maximumKeysInFile else {
                throw .conflict("the key file holds \(FleetKey.maximumKeysInFile) master keys: retire the older ones first (lampctl lamps retire-master)")
            }
            let new = FleetKey.generate()
            let audit = entry(caller, "keys.master.rotate", target: "master:\(new.id)", detail: "from master:\(ring.current.id)")
            // The store first: its lamps are pinned to the old master before the key file
            // makes the new one current, so a crash in between leaves every lamp's key known.
            _ = try await storing("recording the master key rotation") { try await store.rotateMaster(from: ring.current.id, audit: audit) }
            var next = ring
            next.older.insert(next.current, at: 0)
            next.current = new
            try writeKeyFile(keyFile, next)
            let stored = try await storing("reading the lamps' keys") { try await store.loadAll() }
            let slots = gateway.swapKeyRing(next) { model -> [Int] in
                stored.compactMap { lamp -> Int? in
                    guard let slot = model.slot(of: lamp.record.id) else { return nil }
                    model.setKeyState(slot, from: lamp.record)
                    return slot
                }
            }
            gateway.rekeyIfPending(slots)
        }
        logger.notice("fleet master key rotated", metadata: ["key.master": "\(gateway.keyRing.current.id)", "api.caller": "\(caller.name)"])
        return keys()
    }

    /// Replaces the key file with `ring` (0600 from the first byte); a failure is logged
    /// with a reference the error names, never with a key.
    private func writeKeyFile(_ keyFile: String, _ ring: FleetKeyRing) throws(FleetError) {
        do {
            try SecretFile.replace(keyFile, ring.fileText)
        } catch {
            let reference = ErrorReference.make()
            logger.error("writing the key file failed", metadata: ["error": "\(error.reason)", "error.reference": "\(reference)"])
            throw .storage("writing the key file", reference: reference)
        }
    }

    /// Drops the older master keys from the key file once no lamp derives its current or
    /// pending key from them (admin, audited); refused (409) naming how many still do.
    public func retireMasterKeys(by caller: Caller) async throws(FleetError) -> KeysView {
        guard let keyFile else { throw .conflict("the fleet key was given with --fleet-key / LAMPLIGHTER_FLEET_KEY: there is no older key") }
        try await mutations.exclusive { () async throws(FleetError) -> Void in
            let ring = gateway.keyRing
            guard !ring.older.isEmpty else { throw .conflict("there is no older master key to retire") }
            let ids = ring.older.map(\.id)
            let audit = entry(caller, "keys.master.retire", target: ids.map { "master:\($0)" }.joined(separator: " "), detail: "")
            let users = try await storing("checking the older master keys") { try await store.retireMasters(ids, audit: audit) }
            guard users == 0 else {
                throw .conflict("\(users) lamps still use an older master key: they move to the current one when they next link (lampctl lamps keys)")
            }
            let next = FleetKeyRing(current: ring.current)
            try writeKeyFile(keyFile, next)
            _ = gateway.swapKeyRing(next) { _ in [Int]() }
        }
        logger.notice("older fleet master keys retired", metadata: ["api.caller": "\(caller.name)"])
        return keys()
    }

    /// Where the fleet's lamp keys stand: lamps by generation and by master key, rotations
    /// pending, lamps that cannot be rotated.
    public func keys() -> KeysView {
        let ring = gateway.keyRing
        return fleet.withModel { model in
            var masters: [String: Int] = [:]
            var generations: [String: Int] = [:]
            var pending: [String] = []
            var unrotatable: [String] = []
            for entry in model.lamps where !entry.removed {
                generations["\(entry.record.keyGeneration)", default: 0] += 1
                masters[entry.record.keyMaster ?? ring.current.id, default: 0] += 1
                if entry.record.pendingKeyGeneration != nil { pending.append(entry.record.id.value) }
                if entry.cannotRotateKey {
                    unrotatable.append(entry.record.id.value)
                }
            }
            return KeysView(
                generations: generations, pending: pending.sorted(), unrotatable: unrotatable.sorted(), currentMaster: ring.current.id,
                olderMasters: ring.older.map(\.id), masters: masters)
        }
    }

    // MARK: Commands

    /// Validates a command, makes it durable (with its audit entry), then sends it. Returns
    /// once it is durable. A refused command is audited too.
    public func command(_ request: CommandRequest, by caller: Caller) async throws(FleetError) -> CommandAccepted {
        try await command(request, idempotencyKey: nil, by: caller).accepted
    }

    /// ``command(_:by:)`` under the caller's idempotency key (nil: none). A key the caller
    /// used within 24 hours for the same request answers with that command (`replayed`) and
    /// sends nothing; for another request it is refused (unprocessable). The key is stored in
    /// the command's transaction.
    public func command(
        _ request: CommandRequest, idempotencyKey key: String?, by caller: Caller
    ) async throws(FleetError) -> (accepted: CommandAccepted, replayed: Bool) {
        do {
            // Shared: commands run side by side, never beside a change of lamps or groups, so
            // the lamps resolved in memory are the lamps the store's write reaches.
            return try await mutations.shared { () async throws(FleetError) -> (accepted: CommandAccepted, replayed: Bool) in
                try await acceptCommand(request, idempotencyKey: key, by: caller)
            }
        } catch {
            guard error.kind != .unavailable else {
                // The audit log is in the database that cannot be reached: the refusal is logged.
                logger.warning("command refused: the database cannot be reached", metadata: ["api.caller": "\(caller.name)", "command.target": "\(request.target)"])
                throw error
            }
            await audit(caller, "command", target: request.target, detail: request.action, outcome: "refused: \(error.message)")
            throw error
        }
    }

    /// A request in one canonical form (sorted keys, numbers as decoded), so a retry that
    /// spells its JSON differently is still the same request.
    static func canonical(_ request: CommandRequest) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // CommandRequest holds strings and finite numbers (decoded from JSON): it encodes.
        return (try? encoder.encode(request)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// The answer to a retry under `key` of the command `earlier`, if it is the same request.
    private func replay(
        _ earlier: IdempotentCommand, request: String, key: String, caller: Caller
    ) throws(FleetError) -> (accepted: CommandAccepted, replayed: Bool) {
        guard earlier.request == request else {
            throw .unprocessable(
                "Idempotency-Key \(key) was used for another request (command \(earlier.commandID)); send a new key with a new request",
                field: IdempotencyKey.headerName)
        }
        logger.info("command replayed", metadata: ["command.id": "\(earlier.commandID)", "api.caller": "\(caller.name)"])
        return (CommandAccepted(id: earlier.commandID, target: earlier.target, lamps: earlier.lamps), true)
    }

    private func acceptCommand(
        _ request: CommandRequest, idempotencyKey key: String?, by caller: Caller
    ) async throws(FleetError) -> (accepted: CommandAccepted, replayed: Bool) {
        let (target, action) = try FleetService.parse(request)
        let now = clock.nowMilliseconds()
        let canonical = key == nil ? "" : FleetService.canonical(request)
        if let key,
            let earlier = try await storing("reading the idempotency key", {
                try await store.idempotentCommand(caller: caller.name, key: key, atMilliseconds: now)
            })
        {
            return try replay(earlier, request: canonical, key: key, caller: caller)
        }
        // Several controllers on one database take versions from the counter they share
        // (docs/cluster.md); one controller alone takes them from its model, as always.
        let sharedVersion: UInt32? = cluster == nil || action.intent(atMilliseconds: 0) == nil ? nil : try await sharedControlVersion()
        let (slots, control) = try fleet.withModel { model throws(FleetError) -> ([Int], DesiredControl?) in
            guard let slots = model.resolve(target) else {
                throw .notFound("no lamp \(request.target.dropFirst(5)) is registered", field: "target")
            }
            if case .group(let name) = target, slots.isEmpty {
                throw .notFound("no lamp is in group \(name)", field: "target")
            }
            let control = action.intent(atMilliseconds: now).map {
                DesiredControl(version: sharedVersion.map { model.adoptVersion($0) } ?? model.nextVersion(), intent: $0, fade: action.fade)
            }
            return (slots, control)
        }
        var auditEntry = entry(caller, "command", target: target.description, detail: action.description)
        auditEntry.atMilliseconds = now
        let started = ContinuousClock.now
        let claim = key.map { IdempotencyClaim(caller: caller.name, key: $0, request: canonical, lamps: slots.count) }
        let recording = try await writeCommand(target: target, control: control, action: action, audit: auditEntry, claim: claim, now: now)
        let id: Int64
        switch recording {
        case .recorded(let recorded):
            id = recorded
        case .replayed(let earlier):
            // A request with the same key committed first (they raced): this one recorded
            // nothing, and its version number is skipped.
            return try replay(earlier, request: canonical, key: key ?? "", caller: caller)
        }
        let storeDuration = ContinuousClock.now - started
        metrics.storeCommandWrite.record(duration: storeDuration)
        let (changed, events) = fleet.withModel { model in
            let changed = control.map { model.commit(slots, control: $0, atMilliseconds: now) } ?? []
            model.track(commandID: id, target: target, action: action, version: control?.version ?? 0, slots: slots, atMilliseconds: now)
            return (changed, model.takeEvents())
        }
        self.events.emit(events, atMilliseconds: now)
        let ref = UInt32(truncatingIfNeeded: id)
        switch action {
        case .identify(let seconds):
            // Identify(ref:durationSeconds:) is nil only outside 1...600, which parse() refused.
            if let message = Identify(ref: ref, durationSeconds: seconds) { gateway.requestOnce(slots, .identify(message)) }
        case .reboot:
            gateway.requestOnce(slots, .reboot(Reboot(ref: ref)))
        default:
            gateway.deliver(changed)
        }
        if let cluster { await cluster.accepted(id, atMilliseconds: now) }
        logger.info(
            "command accepted",
            metadata: [
                "command.id": "\(id)", "command.target": "\(target)", "command.action": "\(action)",
                "command.lamps": "\(slots.count)", "command.version": "\(control?.version ?? 0)",
                "store.duration": "\(storeDuration)", "api.caller": "\(caller.name)",
            ])
        return (CommandAccepted(id: id, target: target.description, lamps: slots.count), false)
    }

    /// The next program revision: from the counter several controllers share, else this
    /// controller's own (a revision from one controller's own count could be one another
    /// gave a lamp already, which would then ignore the change).
    func nextProgramRevision() async throws(FleetError) -> UInt32 {
        guard let cluster else { return fleet.withModel { $0.nextProgramRevision() } }
        let store = cluster.store
        let revision = try await storing("taking a program revision") {
            try await cluster.bounded("the program") { try await store.allocateProgramRevision() }
        }
        fleet.withModel { $0.noteProgramRevision(revision) }
        return revision
    }

    /// The next control version from the counter several controllers share; nil alone.
    func sharedControlVersion() async throws(FleetError) -> UInt32? {
        guard let cluster else { return nil }
        let store = cluster.store
        return try await storing("taking a control version") {
            try await cluster.bounded("the command") { try await store.allocateControlVersion() }
        }
    }

    /// Stores a command. Alone (SQLite) the write runs as it always did; among several
    /// controllers it is bounded, and refused at once while the database cannot be reached.
    func writeCommand(
        target: CommandTarget, control: DesiredControl?, action: CommandAction, audit: AuditRecord, claim: IdempotencyClaim?, now: UInt64
    ) async throws(FleetError) -> CommandRecording {
        let store = self.store
        guard let cluster else {
            return try await storing("storing the command") {
                try await FleetService.record(store, target: target, control: control, action: action, audit: audit, claim: claim, now: now)
            }
        }
        return try await storing("storing the command") {
            try await cluster.bounded("the command") {
                try await FleetService.record(store, target: target, control: control, action: action, audit: audit, claim: claim, now: now)
            }
        }
    }

    /// Stores a command (under its idempotency claim, if any).
    static func record(
        _ store: any FleetStoring, target: CommandTarget, control: DesiredControl?, action: CommandAction, audit: AuditRecord, claim: IdempotencyClaim?,
        now: UInt64
    ) async throws -> CommandRecording {
        guard let claim else {
            return .recorded(try await store.recordCommand(target: target, control: control, action: action, audit: audit, atMilliseconds: now))
        }
        return try await store.recordCommand(target: target, control: control, action: action, audit: audit, idempotency: claim, atMilliseconds: now)
    }

    /// The typed command a request asks for, or the refusal naming the field at fault.
    static func parse(_ request: CommandRequest) throws(FleetError) -> (CommandTarget, CommandAction) {
        guard let target = CommandTarget(request.target) else {
            throw .invalid("must be lamp:ID, group:NAME or all", field: "target")
        }
        let fade = try FleetService.fade(request.fadeSeconds)
        switch request.action {
        case "level":
            return (target, .level(try FleetService.level(request.level), fade: fade))
        case "on":
            return (target, .switched(on: true, fade: fade))
        case "off":
            return (target, .switched(on: false, fade: fade))
        case "override":
            let level = try FleetService.level(request.level)
            guard let duration = request.durationSeconds else {
                throw .invalid("is required for override", field: "durationSeconds")
            }
            guard duration >= 1 && duration <= Int(LampProtocolLimits.maximumOverrideSeconds) else {
                throw .invalid("must be between 1 and 2592000 seconds (30 days)", field: "durationSeconds")
            }
            return (target, .override(level, seconds: UInt32(duration), fade: fade))
        case "resume":
            return (target, .resume(fade: fade))
        case "identify":
            let seconds = request.durationSeconds ?? 10
            guard seconds >= 1 && seconds <= Int(LampProtocolLimits.maximumIdentifySeconds) else {
                throw .invalid("must be between 1 and 600 seconds for identify", field: "durationSeconds")
            }
            return (target, .identify(seconds: UInt16(seconds)))
        case "reboot":
            return (target, .reboot)
        default:
            throw .invalid("must be one of level, on, off, override, resume, identify, reboot", field: "action")
        }
    }

    static func level(_ percent: Double?) throws(FleetError) -> Level {
        guard let percent else { throw .invalid("is required for this action", field: "level") }
        let tenths = (percent * 10).rounded()
        guard percent.isFinite, percent >= 0, percent <= 100, abs(percent * 10 - tenths) < 1e-6,
            let level = Level(permille: Int(tenths))
        else {
            throw .invalid("must be a percentage from 0 to 100 in steps of 0.1", field: "level")
        }
        return level
    }

    static func fade(_ seconds: Double?) throws(FleetError) -> FadeTime {
        guard let seconds else { return .immediate }
        let tenths = (seconds * 10).rounded()
        guard seconds.isFinite, seconds >= 0, seconds <= 25.5, abs(seconds * 10 - tenths) < 1e-6 else {
            throw .invalid("must be from 0 to 25.5 seconds in steps of 0.1", field: "fadeSeconds")
        }
        return FadeTime(deciseconds: UInt8(tenths))
    }

    /// How far a command has got, or nil if there is no such command: counted from the
    /// lamps' answers for recent commands, from the lamps' applied versions for older ones.
    public func progress(_ id: Int64) async throws(FleetError) -> CommandProgress? {
        if let snapshot = fleet.withModel({ $0.tracker.snapshot(id) }) {
            return CommandProgress(snapshot)
        }
        guard let record = try await storing("reading the command", { try await store.command(id) }) else { return nil }
        return fleet.withModel { model in
            // An older command: its lamps are the target's lamps now.
            let slots = model.resolve(record.target) ?? []
            var snapshot = CommandProgressSnapshot(
                id: record.id, target: record.target, action: record.action, createdAtMilliseconds: record.createdAtMilliseconds,
                total: slots.count, applied: 0, failed: 0, offline: 0, failedLamps: [], latenciesMilliseconds: [])
            guard record.version > 0 else {
                // A once request from before this run: nothing is known of its answers.
                snapshot.offline = slots.filter { !model.lamps[$0].online }.count
                return CommandProgress(snapshot)
            }
            for slot in slots {
                let entry = model.lamps[slot]
                if entry.appliedVersion >= record.version {
                    snapshot.applied += 1
                } else if let refused = entry.refused, refused.version == record.version {
                    snapshot.failed += 1
                    snapshot.failedLamps.append(entry.record.id.value)
                } else if !entry.online {
                    snapshot.offline += 1
                }
            }
            snapshot.failedLamps = Array(snapshot.failedLamps.sorted().prefix(100))
            return CommandProgress(snapshot)
        }
    }

    // MARK: Views

    /// The controller's live counters.
    public func stats() -> StatsView {
        let counters = gateway.counters.snapshot
        return StatsView(
            lampsRegistered: fleet.count, lampsOnline: gateway.linkedLamps,
            pendingHandshakes: counters.pendingHandshakes, handshakesAccepted: counters.handshakesAccepted,
            handshakesRefused: counters.handshakesRefused, linksReplaced: counters.linksReplaced,
            linksClosedMalformed: counters.linksClosedMalformed, messagesIn: counters.messagesIn, messagesOut: counters.messagesOut,
            streamSubscribers: events.hub.subscriberCount, streamSubscribersDropped: events.hub.droppedCount)
    }

    /// One lamp, or nil.
    public func lampView(_ id: LampID) -> LampView? {
        fleet.entry(id).map(viewWithExpectation)
    }

    /// One lamp with its newest events, or nil.
    public func lampView(_ id: LampID, recentEvents: Int) async -> LampView? {
        guard var view = lampView(id) else { return nil }
        if recentEvents > 0 {
            view.recentEvents = try? await events(lamp: id, limit: recentEvents)
        }
        return view
    }

    /// A page of lamps, filtered by group, desired mode, online state and whether the lamp
    /// reports a fault, sorted by id.
    public func lampPage(
        group: String? = nil, mode: String? = nil, online: Bool? = nil, fault: Bool? = nil, offset: Int, limit: Int
    ) -> LampPage {
        let now = clock.nowMilliseconds()
        return fleet.withEntries { table in
            let matching = table.filter { entry in
                !entry.removed && (group.map { entry.record.groups.contains($0) } ?? true) && (online.map { entry.online == $0 } ?? true)
                    && (mode.map { FleetService.modeName(entry.desired.control.intent, atMilliseconds: now) == $0 } ?? true)
                    && (fault.map { (entry.status.map { $0.faults.rawValue != 0 } ?? false) == $0 } ?? true)
            }.sorted { $0.record.id < $1.record.id }
            let page = matching.dropFirst(offset).prefix(limit).map { FleetService.view($0, atMilliseconds: now) }
            return LampPage(lamps: Array(page), total: matching.count, offset: offset, limit: limit)
        }
    }

    /// Newest events first.
    public func events(lamp: LampID?, kind: String? = nil, before: Int64? = nil, limit: Int) async throws(FleetError) -> [EventView] {
        try await storing("reading events") {
            try await store.events(lampID: lamp, kind: kind, beforeID: before, limit: limit).map {
                EventView(
                    id: $0.id ?? 0, lamp: $0.lampID.value, kind: $0.kind, detail: $0.detail,
                    at: Date(unixMilliseconds: $0.atMilliseconds))
            }
        }
    }

    /// The desired mode's name; an override that has run out is the program again.
    static func modeName(_ intent: ControlIntent, atMilliseconds now: UInt64) -> String {
        switch intent {
        case .program: "program"
        case .level: "level"
        case .switched(let on): on ? "on" : "off"
        case .override(_, let until): until > now ? "override" : "program"
        }
    }

    /// One lamp's view with what its program expects now (computed per call: for single
    /// lamps, not pages, so a page of 10,000 lamps does not run 10,000 evaluations).
    func viewWithExpectation(_ entry: LampEntry) -> LampView {
        let now = clock.nowMilliseconds()
        var view = FleetService.view(entry, atMilliseconds: now)
        if entry.desired.control.intent.level(atMilliseconds: now) == nil {
            view.expectedLevel = fleet.programEvaluator(for: entry).map { Double($0.level(at: Int64(now / 1000)).level) / 10 }
        }
        return view
    }

    static func view(_ entry: LampEntry, atMilliseconds now: UInt64) -> LampView {
        let desired = entry.desired.control
        let mode = modeName(desired.intent, atMilliseconds: now)
        var level: Double?
        var until: Date?
        switch desired.intent {
        case .program, .switched: break
        case .level(let value):
            level = percent(value)
        case .override(let value, let end):
            level = percent(value)
            until = Date(unixMilliseconds: end)
        }
        var reported = entry.status.map { status in
            ReportedView(
                appliedVersion: entry.appliedVersion, level: percent(status.level), mode: status.mode.description,
                lit: status.isLit, powerWatts: Double(status.powerDeciwatts) / 10, energyWattHours: status.energyWattHours,
                burnHours: (Double(status.burnSeconds) / 3600 * 10).rounded() / 10, faults: FaultNames.names(status.faults),
                temperatureCelsius: status.temperatureCelsius.map { Int($0) }, ambientLux: status.ambientLux.map { Int($0) },
                firmware: entry.firmware, reportedAt: Date(unixMilliseconds: entry.reportedAtMilliseconds))
        }
        reported?.lampClock = entry.status.map { Date(timeIntervalSince1970: Double($0.clock)) }
        var view = LampView(
            id: entry.record.id.value, name: entry.record.name, groups: entry.record.groups, latitude: entry.record.latitude,
            longitude: entry.record.longitude, wattage: entry.record.wattage, online: entry.online,
            lastSeen: entry.lastSeenMilliseconds == 0 ? nil : Date(unixMilliseconds: entry.lastSeenMilliseconds),
            desired: DesiredView(
                version: desired.version, mode: mode, level: level, overrideUntil: until,
                fadeSeconds: Double(desired.fade.deciseconds) / 10),
            reported: reported, converged: entry.isConverged, program: entry.desired.program.name,
            programRevision: entry.appliedProgramRevision)
        view.cabinet = entry.record.cabinet
        if entry.runsPrograms == false { view.programUnsupported = true }
        if entry.record.revoked { view.revoked = true }
        if entry.record.keyGeneration > 0 { view.keyGeneration = entry.record.keyGeneration }
        view.keyRotationPending = entry.record.pendingKeyGeneration
        return view
    }

    static func percent(_ level: Level) -> Double {
        Double(level.permille) / 10
    }
}
