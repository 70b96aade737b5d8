import FleetCore
import LampProtocol
import LightingPrograms
import Logging
import ServiceLifecycle
import Synchronization

/// What this controller's links tell the others on the database (docs/cluster.md): acks,
/// lamps proven on a link here (to be claimed), lamps whose link ended (to be released). A
/// link handler adds one under a short lock; ``ClusterLink`` takes them all every
/// ``ClusterLimits/ackRelayInterval``.
///
/// It also knows each lamp's claim: the number the database gave the claim of the lamp's
/// current link here, or none while that claim is still to be written. An ownership notice
/// from another controller closes a link here only if its claim is older than the notice's
/// (``olderClaims(_:than:)``): a notice that comes late, after the lamp moved back here,
/// closes nothing. Closed with 4000, a lamp does not reconnect (SPEC.md §13), so a wrong
/// close would leave it out of control.
public final class ClusterOutbox: Sendable {
    /// What ``take()`` hands to the flush.
    struct Pending {
        var acks: [ClusterNotice.LampApplied] = []
        var answers: [ClusterNotice.LampAnswer] = []
        /// Lamps to claim, each with the generation of its link here.
        var claims: [(lamp: LampID, generation: UInt64)] = []
        var releases: [LampID] = []
        var count: Int { acks.count + answers.count + claims.count + releases.count }
    }

    /// A lamp proven on its current link here.
    private struct Ownership {
        /// Which of the lamp's links here: a claim written for an earlier one is not this one's.
        var generation: UInt64
        /// The claim's number, once written.
        var claim: Int64?
        /// A flush is writing its claim.
        var claiming = false
    }

    private struct State {
        var acks: [ClusterNotice.LampApplied] = []
        var answers: [ClusterNotice.LampAnswer] = []
        var owned: [LampID: Ownership] = [:]
        /// Lamps proven since the last take, oldest first (an entry whose ownership moved on
        /// is skipped).
        var unclaimed: [LampID] = []
        var releases: Set<LampID> = []
        var nextGeneration: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Acks and answers dropped because ``ClusterLimits/maximumPendingAcks`` were waiting.
    let dropped = Atomic<Int>(0)

    init() {}

    /// One lamp's applied control version.
    func add(_ lamp: LampID, version: UInt32) {
        addBounded { $0.acks.append(ClusterNotice.LampApplied(lamp: lamp, version: version)) }
    }

    /// One lamp's answer to an identify or reboot, or its refusal of a control version.
    func add(_ answer: ClusterNotice.LampAnswer) {
        addBounded { $0.answers.append(answer) }
    }

    /// Adds an ack or an answer, unless ``ClusterLimits/maximumPendingAcks`` are waiting
    /// (then it is counted in ``dropped``).
    private func addBounded(_ body: (inout State) -> Void) {
        let added = state.withLock { state in
            guard state.acks.count + state.answers.count < ClusterLimits.maximumPendingAcks else { return false }
            body(&state)
            return true
        }
        if !added { dropped.add(1, ordering: .relaxed) }
    }

    /// A lamp proved its link here (``ConnectionStateMachine/Action/proven(_:)``): to be claimed.
    func linked(_ lamp: LampID) {
        state.withLock { state in
            state.nextGeneration += 1
            state.owned[lamp] = Ownership(generation: state.nextGeneration)
            state.releases.remove(lamp)
            state.unclaimed.append(lamp)
            if state.unclaimed.count > 2 * state.owned.count + 1_000 {
                // Links that came and went while claims could not be written: one entry each.
                var seen = Set<LampID>()
                state.unclaimed = state.unclaimed.filter { state.owned[$0] != nil && seen.insert($0).inserted }
            }
        }
    }

    /// A lamp's link here ended: to be released (where this controller still holds it).
    func unlinked(_ lamp: LampID) {
        state.withLock { state in
            state.owned[lamp] = nil
            state.releases.insert(lamp)
        }
    }

    /// Everything waiting, emptied; the claims taken are marked as being written.
    func take() -> Pending {
        state.withLock { state in
            var pending = Pending(acks: state.acks, answers: state.answers, releases: Array(state.releases))
            state.acks = []
            state.answers = []
            state.releases = []
            for lamp in state.unclaimed {
                guard var ownership = state.owned[lamp], ownership.claim == nil, !ownership.claiming else { continue }
                ownership.claiming = true
                state.owned[lamp] = ownership
                pending.claims.append((lamp, ownership.generation))
            }
            state.unclaimed = []
            return pending
        }
    }

    /// The claims were written as `claim`; a lamp whose link here changed meanwhile keeps
    /// its newer link's (still to be written).
    func claimed(_ claims: [(lamp: LampID, generation: UInt64)], as claim: Int64) {
        state.withLock { state in
            for (lamp, generation) in claims where state.owned[lamp]?.generation == generation {
                state.owned[lamp]?.claim = claim
                state.owned[lamp]?.claiming = false
            }
        }
    }

    /// The claims could not be written (the database was unreachable): claimed with the
    /// next flush.
    func claimFailed(_ claims: [(lamp: LampID, generation: UInt64)]) {
        state.withLock { state in
            for (lamp, generation) in claims where state.owned[lamp]?.generation == generation {
                state.owned[lamp]?.claiming = false
                state.unclaimed.append(lamp)
            }
        }
    }

    /// The releases could not be written: released with the next flush, unless the lamp
    /// linked here again meanwhile.
    func releaseFailed(_ lamps: [LampID]) {
        state.withLock { state in
            for lamp in lamps where state.owned[lamp] == nil {
                state.releases.insert(lamp)
            }
        }
    }

    /// Of `lamps`, those whose link here has a claim older than `claim`: another controller
    /// holds a newer link, so this one is stale. A lamp whose claim here is newer, or not yet
    /// written (its link proved itself after that claim was made), keeps its link.
    func olderClaims(_ lamps: [LampID], than claim: Int64) -> [LampID] {
        state.withLock { state in
            lamps.filter { lamp in state.owned[lamp]?.claim.map { $0 < claim } ?? false }
        }
    }
}

/// This controller's part among several on one PostgreSQL database (docs/cluster.md):
/// announces the commands it accepts, applies the commands the others accept (from their
/// notices, and from a periodic catch-up that repairs a lost one), and relays its lamps'
/// acks so that every controller's command progress counts every lamp.
///
/// Only made when the store is a ``ClusterStoring``: with SQLite there is none.
public final class ClusterLink: Service, Sendable {
    /// This controller's name on the channel, random per run.
    public let instance: String
    let store: any ClusterStoring & FleetStoring
    let fleet: FleetState
    let gateway: LampGateway
    let events: FleetEvents
    let relay: ClusterOutbox
    let clock: any FleetClock
    let logger: Logger
    /// Commands applied here (accepted here, or read from the others), with their creation
    /// time, kept for the catch-up window.
    private let applied = Mutex<[Int64: UInt64]>([:])
    /// The newest lamp change number read back (``catchUpChanges()``).
    private let changeMark: Mutex<Int64>
    /// When this controller started (Unix ms): commands before it are in the desired state
    /// it loaded.
    let startedAt: UInt64
    /// Whether the LISTEN is up (false while the database cannot be reached).
    let listening = Atomic<Bool>(false)
    /// Whether the database answered last: true at start (it was just opened), false from a
    /// lost LISTEN connection or a command write that timed out until the LISTEN is back.
    let reachable = Atomic<Bool>(true)
    /// Why the database is unreachable, for the 503's message.
    private let lastFailure = Mutex<String>("")

    /// A command younger than this (ms) is left to its notice (or to the request on this
    /// controller that is still storing it) by the catch-up.
    static let catchUpGraceMilliseconds: UInt64 = 1_000

    init(
        store: any ClusterStoring & FleetStoring, fleet: FleetState, gateway: LampGateway, events: FleetEvents, relay: ClusterOutbox,
        clock: any FleetClock, logger: Logger
    ) {
        instance = store.instance
        self.store = store
        self.fleet = fleet
        self.gateway = gateway
        self.events = events
        self.relay = relay
        self.clock = clock
        changeMark = Mutex(store.changeMarkAtOpen)
        startedAt = clock.nowMilliseconds()
        var logger = logger
        logger[metadataKey: "cluster.instance"] = "\(instance)"
        self.logger = logger
    }

    // MARK: This controller's commands

    /// A command this controller stored and applied: the others are told (a lost notice is
    /// repaired by their catch-up, so a failure here is only logged).
    func accepted(_ id: Int64, atMilliseconds createdAt: UInt64) async {
        _ = markApplied(id, createdAt: createdAt)
        do {
            try await store.announce(.command(instance: instance, id: id))
        } catch {
            logger.warning("could not announce a command; the others' catch-up will find it", metadata: ["command.id": "\(id)", "error": "\(error)"])
        }
    }

    /// Records that command `id` is applied here; false if it already was.
    private func markApplied(_ id: Int64, createdAt: UInt64) -> Bool {
        applied.withLock { $0.updateValue(createdAt, forKey: id) == nil }
    }

    // MARK: The database's reach

    /// Marks the database unreachable, with why.
    func unreachable(_ why: String) {
        lastFailure.withLock { $0 = why }
        if reachable.exchange(false, ordering: .relaxed) {
            logger.error("the database cannot be reached: commands are refused with 503 until it is back; lamps keep their links and programs", metadata: ["error": "\(why)"])
        }
    }

    /// The refusal while the database cannot be reached; nil while it can.
    func refusal(_ what: String) -> FleetError? {
        guard !reachable.load(ordering: .relaxed) else { return nil }
        return .unavailable(
            "\(what) was refused: the database cannot be reached (\(lastFailure.withLock { $0 })); lamps keep running their programs; try again when it is back")
    }

    /// Runs a store step of a command, bounded by ``ClusterLimits/commandWriteTimeout``: a
    /// step that did not finish by then is refused as unavailable (not confirmed). Its own
    /// errors pass through.
    func bounded<Result: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
        if let refusal = refusal(what) { throw refusal }
        let outcome = try await Controller.result(of: body, waitingAtMost: ClusterLimits.commandWriteTimeout)?.get()
        guard let outcome else {
            unreachable("no answer within \(ClusterLimits.commandWriteTimeout)")
            throw FleetError.unavailable(
                "\(what) was not confirmed: the database did not answer within \(ClusterLimits.commandWriteTimeout); lamps keep running their programs; try again when it is back")
        }
        return outcome
    }

    // MARK: The others' commands

    /// Applies a command another controller accepted, as it did: the desired state is a
    /// function of the command's target, action, version and creation time, so nothing per
    /// lamp is read. Commands already applied here are skipped.
    func apply(_ record: CommandRecord) {
        guard markApplied(record.id, createdAt: record.createdAtMilliseconds) else { return }
        let created = record.createdAtMilliseconds
        // A command from before this controller started may be in the desired state it
        // loaded: it is committed (a no-op if so) and delivered, not tracked or sent again.
        let before = created < startedAt
        if before && record.version == 0 { return }
        let control = record.action.intent(atMilliseconds: created).map {
            DesiredControl(version: record.version, intent: $0, fade: record.action.fade)
        }
        let (slots, changed, events) = fleet.withModel { model -> ([Int], [(Int, DesiredState)], [FleetEvent]) in
            // A lamp registered on another controller is known here from its `l` notice (or
            // the registration catch-up); until then such a target resolves to nothing.
            let slots = model.resolve(record.target) ?? []
            if let control { _ = model.adoptVersion(control.version) }
            let changed = control.map { model.commit(slots, control: $0, atMilliseconds: created) } ?? []
            if !before { model.track(commandID: record.id, target: record.target, action: record.action, version: record.version, slots: slots, atMilliseconds: created) }
            return (slots, changed, model.takeEvents())
        }
        self.events.emit(events, atMilliseconds: clock.nowMilliseconds())
        let ref = UInt32(truncatingIfNeeded: record.id)
        switch record.action {
        case .identify(let seconds):
            if let message = Identify(ref: ref, durationSeconds: seconds) { gateway.requestOnce(slots, .identify(message)) }
        case .reboot:
            gateway.requestOnce(slots, .reboot(Reboot(ref: ref)))
        default:
            gateway.deliver(changed)
        }
        logger.debug("applied another controller's command", metadata: ["command.id": "\(record.id)", "command.lamps": "\(slots.count)"])
    }

    /// Another controller's lamps answered an identify or reboot, or refused a version:
    /// progress here counts them.
    func answered(_ answers: [ClusterNotice.LampAnswer]) {
        let now = clock.nowMilliseconds()
        let events = fleet.withModel { model -> [FleetEvent] in
            for answer in answers {
                guard let slot = model.slot(of: answer.lamp) else { continue }
                switch answer.kind {
                case .once(let ref, let accepted):
                    model.noteOnceAnswered(slot, ref: ref, accepted: accepted, atMilliseconds: now)
                case .refused(let version, let reason):
                    model.noteRefused(slot, version: version, reason: NackReason(rawValue: reason), atMilliseconds: now)
                }
            }
            return model.takeEvents()
        }
        self.events.emit(events, atMilliseconds: now)
    }

    /// Another controller's lamps applied these versions: progress here counts them.
    func applied(_ lamps: [ClusterNotice.LampApplied]) {
        let now = clock.nowMilliseconds()
        let events = fleet.withModel { model -> [FleetEvent] in
            for entry in lamps {
                guard let slot = model.slot(of: entry.lamp) else { continue }
                _ = model.noteControlApplied(slot, version: entry.version, atMilliseconds: now)
            }
            return model.takeEvents()
        }
        self.events.emit(events, atMilliseconds: now)
    }

    /// One notice from the channel.
    func received(_ notice: ClusterNotice) async {
        guard notice.instance != instance else { return }
        switch notice {
        case .command(_, let id):
            guard applied.withLock({ $0[id] == nil }) else { return }
            do {
                guard let record = try await store.command(id) else { return }
                apply(record)
            } catch {
                logger.warning("could not read an announced command; the catch-up will retry", metadata: ["command.id": "\(id)", "error": "\(error)"])
            }
        case .applied(_, let lamps):
            applied(lamps)
        case .answered(_, let answers):
            answered(answers)
        case .owned(let owner, let claim, let lamps):
            // Marked held first: the links closed below then leave their lamps counted as
            // linked (to the owner) in command progress, not offline.
            setHeld(lamps, true)
            // Only links whose own claim is older: this notice may come after the lamp moved
            // back here, and a lamp closed with 4000 does not reconnect.
            let closed = gateway.closeDuplicates(relay.olderClaims(lamps, than: claim))
            if closed > 0 {
                logger.info("closed links of lamps that linked to another controller", metadata: ["links.closed": "\(closed)", "cluster.owner": "\(owner)"])
            }
        case .released(_, let lamps):
            setHeld(lamps, false)
        case .programs:
            do {
                try await reloadPrograms()
            } catch {
                logger.warning("could not read programs another controller changed; the registration catch-up will retry", metadata: ["error": "\(error)"])
            }
        case .lamps(_, let lamps):
            do {
                try await reload(lamps)
            } catch {
                logger.warning("could not read lamps another controller changed; the registration catch-up will retry", metadata: ["lamps": "\(lamps.count)", "error": "\(error)"])
            }
        }
    }

    // MARK: Registrations

    /// Lamps this controller registered, changed or removed (after the store): the others
    /// read them again. A lost notice is repaired for registrations and removals by their
    /// catch-up; a failure here is only logged.
    func changed(_ lamps: [LampID]) async {
        guard !lamps.isEmpty else { return }
        await announceOrLog(.lamps(instance: instance, lamps), "could not announce changed lamps", ["lamps": "\(lamps.count)"])
    }

    /// Sends a notice whose loss a catch-up repairs: a failure is only logged.
    private func announceOrLog(_ notice: ClusterNotice, _ message: Logger.Message, _ metadata: Logger.Metadata) async {
        do {
            try await store.announce(notice)
        } catch {
            logger.warning(message, metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }

    /// Reads these lamps from the store and makes the model say the same: new ones added,
    /// changed ones updated, removed ones removed (their links closed, as a removal or a
    /// revocation here does), in batches of ``ClusterLimits/reloadBatch``.
    func reload(_ lamps: [LampID]) async throws {
        var start = 0
        while start < lamps.count {
            let batch = Array(lamps[start..<min(lamps.count, start + ClusterLimits.reloadBatch)])
            start += batch.count
            let stored = try await store.lamps(batch)
            let now = clock.nowMilliseconds()
            let (removed, revoked, updated, deliveries) = fleet.withModel { $0.reload(batch, stored: stored, atMilliseconds: now) }
            gateway.closeLinks(removed, code: LampCloseCode.authenticationFailed, reason: "lamp removed")
            gateway.closeLinks(revoked, code: LampCloseCode.authenticationFailed, reason: "revoked")
            gateway.deliver(deliveries)
            gateway.rekeyIfPending(updated)
            logger.debug("lamps another controller changed read again", metadata: ["lamps": "\(batch.count)", "lamps.removed": "\(removed.count)"])
        }
    }

    /// Compares the registered lamps' ids with this controller's and reads again those that
    /// differ: repairs a lost notice of a registration or removal.
    func registrationCatchUp() async throws {
        try await reloadPrograms()
        let stored = Set(try await store.lampIDs())
        let known = fleet.withModel { $0.registeredIDs }
        let differing = Array(stored.symmetricDifference(known))
        guard !differing.isEmpty else { return }
        logger.info("registrations caught up", metadata: ["lamps": "\(differing.count)"])
        try await reload(differing)
    }

    /// Reads back the lamps whose stored registration, groups or program changed since the
    /// last look (a number every change takes in the database), so a lost `l` notice of a
    /// change is repaired within ``ClusterLimits/catchUpInterval``, as a lost command is.
    /// Changes that did arrive are read once more: the reload is idempotent.
    func catchUpChanges() async throws {
        var mark = changeMark.withLock { $0 }
        while true {
            let (lamps, newest) = try await store.lampsChanged(after: mark, limit: ClusterLimits.reloadBatch)
            guard !lamps.isEmpty else { return }
            try await reload(lamps)
            mark = newest
            changeMark.withLock { $0 = max($0, newest) }
            guard lamps.count == ClusterLimits.reloadBatch else { return }
        }
    }

    /// Programs this controller saved or deleted (after the store): the others read them again.
    func changedPrograms(_ names: [String]) async {
        await announceOrLog(
            .programs(instance: instance, names), "could not announce changed programs; the others' catch-up reads them", ["programs": "\(names)"])
    }

    /// Reads the programs from the store and makes the model say the same: one saved
    /// elsewhere (a revision newer than known) is taken, and its lamps here get it; one
    /// deleted elsewhere is forgotten. Small (a fleet has few programs): read whole, on a
    /// `p` notice and with every registration catch-up, which repairs a lost notice.
    func reloadPrograms() async throws {
        let stored = try await store.programs()
        let known = fleet.withModel { $0.programRevisions }
        var deliveries: [(Int, DesiredState)] = []
        for record in stored where record.revision > known[record.name] ?? 0 {
            let program: LightingProgram
            do {
                program = try ProgramText.parse(record.source)
            } catch {
                logger.error("a stored program does not parse; kept as it was", metadata: ["program.name": "\(record.name)", "error": "\(error)"])
                continue
            }
            deliveries += fleet.withModel { $0.programChanged(record.name, program: program, revision: record.revision) }
            logger.info("program changed on another controller", metadata: ["program.name": "\(record.name)", "program.revision": "\(record.revision)"])
        }
        let names = Set(stored.map(\.name))
        for name in known.keys where !names.contains(name) {
            fleet.withModel { $0.programDeleted(name) }
            logger.info("program deleted on another controller", metadata: ["program.name": "\(name)"])
        }
        gateway.deliver(deliveries)
    }

    /// Marks lamps held (or no longer held) by another controller, for command progress.
    func setHeld(_ lamps: [LampID], _ held: Bool) {
        let now = clock.nowMilliseconds()
        let events = fleet.withModel { model -> [FleetEvent] in
            for lamp in lamps {
                guard let slot = model.slot(of: lamp) else { continue }
                model.setHeldElsewhere(slot, held, atMilliseconds: now)
            }
            return model.takeEvents()
        }
        self.events.emit(events, atMilliseconds: now)
    }

    /// Reads which lamps the other controllers hold and makes the model say exactly that:
    /// repairs a lost `o` or `r` notice, and a lapsed owner whose rows another controller
    /// removed. Run with every heartbeat and when listening starts.
    func reconcileHeld() async throws {
        let held = try await store.lampsHeld(notBy: instance)
        let now = clock.nowMilliseconds()
        let (changed, events) = fleet.withModel { model -> (Int, [FleetEvent]) in
            let slots = Set(held.compactMap { model.slot(of: $0) })
            return (model.reconcileHeldElsewhere(slots, atMilliseconds: now), model.takeEvents())
        }
        self.events.emit(events, atMilliseconds: now)
        if changed > 0 { logger.debug("lamps held by the other controllers reconciled", metadata: ["lamps.changed": "\(changed)"]) }
    }

    /// Reads the commands of the catch-up window and applies those not applied here; forgets
    /// the applied ones older than the window.
    func catchUp() async throws {
        try await catchUpChanges()
        let now = clock.nowMilliseconds()
        let window = now >= ClusterLimits.catchUpWindowMilliseconds ? now - ClusterLimits.catchUpWindowMilliseconds : 0
        // Commands well before this start are in the desired state loaded at start.
        let since = max(window, startedAt >= Self.catchUpGraceMilliseconds ? startedAt - Self.catchUpGraceMilliseconds : 0)
        applied.withLock { applied in applied = applied.filter { $0.value >= since } }
        for record in try await store.commands(createdSince: since) where record.createdAtMilliseconds + Self.catchUpGraceMilliseconds <= now {
            apply(record)
        }
    }

    // MARK: Running

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listenLoop() }
            group.addTask { await self.every(ClusterLimits.catchUpInterval) { try await self.catchUp() } }
            group.addTask { await self.every(ClusterLimits.ackRelayInterval) { try await self.flush() } }
            group.addTask { await self.every(ClusterLimits.heartbeatInterval) { try await self.heartbeat() } }
            group.addTask { await self.every(ClusterLimits.registrationCatchUpInterval) { try await self.registrationCatchUp() } }
            group.addTask {
                var cursor: EventCursor?
                await self.every(ClusterLimits.eventFollowInterval) { try await self.followEvents(&cursor) }
            }
            await group.waitForAll()
        }
    }

    /// Sends what the links gathered since the last call: released ownerships, then claims
    /// of the lamps proven on a link here (recorded, then announced with their number: the
    /// older links elsewhere close), then acks. Claims that could not be written are tried
    /// again with the next flush; a lost release lapses with its lease, and a lost ack only
    /// delays the others' progress.
    func flush() async throws {
        let pending = relay.take()
        guard pending.count > 0 else { return }
        // Claims taken are marked as being written: whatever step fails first, they are put
        // back for the next flush. (A failed release used to leave them marked for good: a
        // 100,000-lamp run had 7,461 lamps online on one controller and never claimed.)
        var claimsWritten = pending.claims.isEmpty
        defer {
            if !claimsWritten { relay.claimFailed(pending.claims) }
        }
        if !pending.releases.isEmpty {
            // Only the lamps this controller still held: one that moved on stays its new
            // owner's. Before the claims: a lamp that left and came back is claimed again.
            // One that could not be released is tried again (its row would otherwise live as
            // long as this controller's lease, for good).
            let released: [LampID]
            do {
                released = try await store.releaseLamps(pending.releases, instance: instance)
            } catch {
                relay.releaseFailed(pending.releases)
                throw error
            }
            try await store.announce(.released(instance: instance, released))
        }
        if !pending.claims.isEmpty {
            let lamps = pending.claims.map(\.lamp)
            let claim = try await store.claimLamps(lamps, instance: instance, leaseUntil: clock.nowMilliseconds() + ClusterLimits.leaseMilliseconds)
            relay.claimed(pending.claims, as: claim)
            claimsWritten = true
            try await store.announce(.owned(instance: instance, claim: claim, lamps))
        }
        if !pending.acks.isEmpty {
            try await store.announce(.applied(instance: instance, pending.acks))
        }
        if !pending.answers.isEmpty {
            try await store.announce(.answered(instance: instance, pending.answers))
        }
    }

    /// Streams the other controllers' stored events (their lamps' links, faults, refusals…)
    /// to this controller's live stream subscribers: reads the shared event history past
    /// `cursor`, in batches, while anyone subscribes; with no subscriber it reads nothing and
    /// forgets its place (a new subscriber starts from the history's end).
    func followEvents(_ cursor: inout EventCursor?) async throws {
        guard events.hub.isActive else {
            cursor = nil
            return
        }
        guard var current = cursor else {
            cursor = EventCursor(after: try await store.lastEventID())
            return
        }
        var read = 0
        repeat {
            let rows = try await store.events(after: current.last, gaps: current.gapIDs, limit: ClusterLimits.eventFollowBatch)
            read = rows.count
            let fresh = current.take(rows.map { $0.record.id ?? 0 }, atMilliseconds: clock.nowMilliseconds())
            for (row, isNew) in zip(rows, fresh) where isNew && row.instance != instance {
                events.publishStored(row.record)
            }
            cursor = current
        } while read == ClusterLimits.eventFollowBatch && events.hub.isActive
    }

    /// Renews this controller's heartbeat and lease; removes the ownerships of controllers
    /// whose lease ran out.
    func heartbeat() async throws {
        let now = clock.nowMilliseconds()
        let expired = try await store.heartbeat(instance: instance, startedAt: startedAt, now: now, leaseUntil: now + ClusterLimits.leaseMilliseconds)
        if !expired.isEmpty {
            logger.info("lamps of a controller without heartbeat were released", metadata: ["lamps": "\(expired.count)"])
            setHeld(expired, false)
            try await store.announce(.released(instance: instance, expired))
        }
        try await reconcileHeld()
    }

    /// Runs `body` every `interval` until shutdown; a failure is logged and tried again.
    private func every(_ interval: Duration, _ body: () async throws -> Void) async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            do {
                try await body()
            } catch {
                logger.debug("cluster step failed; tried again", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Listens until shutdown: after a lost connection, again with a growing wait, and a
    /// catch-up as soon as it listens again.
    private func listenLoop() async {
        var wait = ClusterLimits.relistenBackoff.first
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown {
                    try await self.store.listen(listening: {
                        self.listening.store(true, ordering: .relaxed)
                        if !self.reachable.exchange(true, ordering: .relaxed) {
                            self.logger.notice("the database is reachable again: commands are accepted")
                        }
                        self.logger.info("listening for the other controllers")
                        try? await self.catchUp()
                        try? await self.reconcileHeld()
                        try? await self.registrationCatchUp()
                    }) { notice in
                        await self.received(notice)
                    }
                }
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { return }
                if listening.exchange(false, ordering: .relaxed) {
                    wait = ClusterLimits.relistenBackoff.first
                }
                unreachable("\(error)")
                logger.warning("not listening for the other controllers; trying again", metadata: ["error": "\(error)", "retry.in": "\(wait)"])
            }
            listening.store(false, ordering: .relaxed)
            let pause = wait
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            } catch {
                return
            }
            wait = min(wait * 2, ClusterLimits.relistenBackoff.longest)
        }
    }
}
