import LampProtocol
import LightingPrograms

/// One lamp as the controller holds it in memory: its registration, what it should do and
/// what it last proved it does.
public struct LampEntry: Sendable {
    /// Registration.
    public var record: LampRecord
    /// The committed desired state (durable in the store).
    public var desired: DesiredState
    /// Control version the lamp applied.
    public var appliedVersion: UInt32 = 0
    /// When the controller learnt that ``appliedVersion`` was applied, Unix ms (0: before
    /// this run).
    public var appliedAtMilliseconds: UInt64 = 0
    /// Config version the lamp applied.
    public var appliedConfigVersion: UInt32 = 0
    /// Program revision the lamp holds.
    public var appliedProgramRevision: UInt32 = 0
    /// The control and config versions an ack proved applied in this run (memory only: a restart, and so any database restore, forgets them). A hello
    /// reporting its desired version proves it only when it matches these (SPEC.md §8.0).
    public var provenControl: UInt32 = 0
    public var provenConfig: UInt32 = 0
    /// When the current desired control state was committed, Unix ms (0: before this run).
    public var desiredAtMilliseconds: UInt64 = 0
    /// The last control version the lamp refused, and why.
    public var refused: (version: UInt32, reason: NackReason)?
    /// Last status report.
    public var status: StatusReport?
    /// Firmware label from the last hello.
    public var firmware: String?
    /// When the last status arrived, Unix ms (0: never).
    public var reportedAtMilliseconds: UInt64 = 0
    /// When anything last arrived, Unix ms (0: never).
    public var lastSeenMilliseconds: UInt64 = 0
    /// Energy of the hour under way not yet handed to the store (see ``EnergyMeter``).
    public var openEnergy = OpenEnergyHour()
    /// Whether an authenticated link is open.
    public var online = false
    /// Whether another controller of the cluster holds the lamp's link (its ownership notice
    /// or row, docs/cluster.md): command progress here counts it linked, waiting for its
    /// relayed ack, not offline. False with SQLite.
    public var heldElsewhere = false
    /// Whether the lamp was removed: its slot stays (slots never move), empty of it.
    public var removed = false
    /// What the lamp said it can do in its last hello (nil: no hello in this run).
    public var capabilities: Capabilities?
    /// The minor protocol version of its last hello.
    public var minorVersion: UInt8 = 0
    /// Whether its last hello in this run was of minor 0 or 1: its link has no frame tags,
    /// so its key cannot be rotated (SPEC.md §8.12). False before its first hello.
    public var cannotRotateKey: Bool {
        capabilities != nil && minorVersion < AuthenticationTranscript.frameAuthenticationMinor
    }

    /// Whether the lamp runs lighting programs (SPEC.md §5.2): it announced the programs
    /// capability at minor 1 or later. Nil before its first hello in this run.
    public var runsPrograms: Bool? {
        capabilities.map { $0.contains(.programs) && minorVersion >= 1 }
    }

    /// Whether the lamp dims; a lamp without the capability shows any level above 0 as full.
    public var dims: Bool { capabilities?.contains(.dimmable) ?? true }

    /// An entry as loaded from the store.
    public init(stored: StoredLamp) {
        record = stored.record
        desired = stored.desired
        if let reported = stored.reported {
            appliedVersion = reported.appliedVersion
            appliedConfigVersion = reported.configVersion
            appliedProgramRevision = reported.status?.programRevision ?? 0
            status = reported.status
            firmware = reported.firmware
            reportedAtMilliseconds = reported.reportedAtMilliseconds
            lastSeenMilliseconds = reported.lastSeenMilliseconds
        }
    }

    /// The reported state to persist.
    public var reportedRecord: ReportedRecord {
        ReportedRecord(
            lampID: record.id, appliedVersion: appliedVersion, configVersion: appliedConfigVersion, firmware: firmware,
            status: status, reportedAtMilliseconds: reportedAtMilliseconds, lastSeenMilliseconds: lastSeenMilliseconds)
    }

    /// Whether the lamp has applied the desired control version: exactly that version, as a
    /// version above it was never issued by this controller (SPEC.md §8.0).
    public var isConverged: Bool { appliedVersion == desired.control.version }
}

/// The fleet's domain rules over every registered lamp: registration, the version sequence,
/// committing desired state, what links report, groups and programs.
///
/// A value with no locks, no I/O and no clock: time is passed in. The controller keeps one
/// behind a lock and persists what it changes through ``FleetStoring``; tests use it as it is.
///
/// Each lamp has a **slot**, its index in ``lamps``, fixed for the model's lifetime: a link
/// looks its lamp up by id once, at authentication, and afterwards every message (ack, status
/// report) is an array access, not a hash of the id.
public struct FleetModel: Sendable {
    /// Every lamp, by slot.
    public internal(set) var lamps: [LampEntry] = []
    /// Lamps' energy of hours they left, waiting for the next batch write.
    private var closedEnergy: [EnergyHour] = []
    private var slots: [LampID: Int] = [:]
    /// The highest control version handed out, committed or not.
    public private(set) var lastVersion: UInt32
    /// The highest program revision handed out, committed or not: a sequence of its own, so
    /// an operator's first program is revision 1 whatever commands came before.
    public internal(set) var lastProgramRevision: UInt32
    /// Known programs, by name.
    var programs: [String: KnownProgram] = [:]
    /// Counts recent commands' answers (progress, `command.applied`).
    public private(set) var tracker = CommandTracker()
    /// Where lamps without a registered place are, and the fleet's local time.
    public internal(set) var programDefaults = ProgramDefaults(timeZone: .utc, latitude: nil, longitude: nil)
    /// The database's fleet epoch (SPEC.md §5.4), sent in every minor-2 welcome.
    public var fleetEpoch = FleetEpoch.none
    /// Several controllers share the database (docs/cluster.md): control versions come from
    /// the counter they share, never from ``nextVersion()`` alone, which would hand out a
    /// number another controller's command also gets (the lamp, holding it already, would
    /// take that command for one it applied). A desired state issued again by
    /// ``linkUp(_:atMilliseconds:)`` then keeps its control version and the link says above
    /// which one it wants a fresh version (``LinkUp/controlVersionWanted``), given back through
    /// ``reissueControl(_:version:atMilliseconds:)``.
    public var controlVersionsShared = false

    /// A fleet loaded from the store; the control version sequence continues after
    /// `highestVersion`, the program revision sequence after `highestProgramRevision`.
    public init(stored: [StoredLamp] = [], highestVersion: UInt32 = 0, highestProgramRevision: UInt32 = 0) {
        lastVersion = max(highestVersion, stored.map(\.desired.control.version).max() ?? 0)
        lastProgramRevision = max(highestProgramRevision, stored.map(\.desired.program.revision).max() ?? 0)
        lamps.reserveCapacity(stored.count)
        slots.reserveCapacity(stored.count)
        add(stored)
    }

    // MARK: Registry

    /// How many lamps are registered.
    public var count: Int { lamps.count - removedCount }
    /// How many slots hold a removed lamp.
    private var removedCount = 0

    /// The slot of a registered lamp.
    public func slot(of id: LampID) -> Int? { slots[id] }

    /// One lamp's entry.
    public func entry(_ id: LampID) -> LampEntry? { slots[id].map { lamps[$0] } }

    /// Adds lamps (registered in the store just now, or loaded at start); ids already known
    /// are left as they are.
    public mutating func add(_ stored: [StoredLamp]) {
        var builder = ProgramBuilder(programs: programs, defaults: programDefaults)
        for lamp in stored where slots[lamp.record.id] == nil {
            slots[lamp.record.id] = lamps.count
            var entry = LampEntry(stored: lamp)
            if !programs.isEmpty {
                entry.desired.program = builder.desired(
                    entry.desired.program.name, revision: entry.desired.program.revision, record: entry.record)
            }
            lamps.append(entry)
        }
    }

    /// The registration `record` would be after `change`: each given field replaces the old
    /// one, by the one registration rule. Nil fields keep their value.
    public static func changedRegistration(
        _ record: LampRecord, name: String?, latitude: Double?, longitude: Double?, wattage: Double?,
        cabinet: String? = nil
    ) throws(FleetError) -> LampRecord {
        try LampRecord.validated(
            id: record.id.value, name: name ?? record.name, latitude: latitude ?? record.latitude, longitude: longitude ?? record.longitude,
            wattage: wattage ?? record.wattage, groups: record.groups,
            cabinet: cabinet ?? record.cabinet)
    }

    /// Whether changing a lamp's registration to `record` means sending its program again:
    /// it runs one and its place changed (the program's header carries the place).
    public func needsProgramAgain(_ record: LampRecord) -> Bool {
        guard let slot = slots[record.id], lamps[slot].desired.program.name != nil else { return false }
        let old = lamps[slot].record
        return old.latitude != record.latitude || old.longitude != record.longitude
    }

    /// A lamp's registration changed (after the store). With `programRevision`, its program
    /// is framed again for its new place at that revision; returns its new desired state
    /// then, to deliver.
    public mutating func updateRegistration(_ record: LampRecord, programRevision: UInt32?) -> [(Int, DesiredState)] {
        guard let slot = slots[record.id] else { return [] }
        lamps[slot].record = record
        guard let programRevision else { return [] }
        var builder = ProgramBuilder(programs: programs, defaults: programDefaults)
        lamps[slot].desired.program = builder.desired(lamps[slot].desired.program.name, revision: programRevision, record: record)
        return [(slot, lamps[slot].desired)]
    }

    /// What another controller changed in the lamps' registrations, read back from the store
    /// (docs/cluster.md): `asked` are the lamps it named, `stored` those still registered.
    /// A lamp new here is added; a known one takes the stored registration (groups,
    /// revocation and keys included; its program framed again at the stored revision if
    /// its place changed, or the stored program if its revision is newer: assigned
    /// elsewhere); one no longer stored is removed. Returns the slots whose links
    /// must close (removed, or newly revoked), the slots updated (a pending key to send) and
    /// the desired states to deliver.
    public mutating func reload(_ asked: [LampID], stored: [StoredLamp], atMilliseconds now: UInt64) -> (
        removed: [Int], revoked: [Int], updated: [Int], deliveries: [(Int, DesiredState)]
    ) {
        var byID: [LampID: StoredLamp] = [:]
        for lamp in stored { byID[lamp.record.id] = lamp }
        var removed: [Int] = []
        var revoked: [Int] = []
        var updated: [Int] = []
        var deliveries: [(Int, DesiredState)] = []
        for id in Set(asked) {
            guard let lamp = byID[id] else {
                if let slot = remove(id, atMilliseconds: now) { removed.append(slot) }
                continue
            }
            guard let slot = slots[id] else {
                add([lamp])
                continue
            }
            if lamp.record.revoked && !lamps[slot].record.revoked { revoked.append(slot) }
            let stored = lamp.desired.program
            if stored.revision > lamps[slot].desired.program.revision {
                // A program assigned (or changed) on the other controller: its name and
                // revision as stored, framed here for the lamp's place.
                noteAssigned(stored.name, revision: stored.revision)
                lamps[slot].desired.program.name = stored.name
                deliveries += updateRegistration(lamp.record, programRevision: stored.revision)
            } else {
                let revision = needsProgramAgain(lamp.record) ? lamp.desired.program.revision : nil
                if let revision { lastProgramRevision = max(lastProgramRevision, revision) }
                deliveries += updateRegistration(lamp.record, programRevision: revision)
            }
            updated.append(slot)
        }
        return (removed.sorted(), revoked.sorted(), updated.sorted(), deliveries)
    }

    /// The ids of the lamps registered here (not removed).
    public var registeredIDs: Set<LampID> { Set(slots.keys) }

    /// The slots of the lamps a target addresses, in id order; nil when a single lamp is
    /// unknown. An empty group gives an empty list.
    public func resolve(_ target: CommandTarget) -> [Int]? {
        let chosen: [Int]
        switch target {
        case .lamp(let id):
            guard let slot = slots[id] else { return nil }
            return [slot]
        case .group(let name):
            chosen = lamps.indices.filter { lamps[$0].record.groups.contains(name) }
        case .all:
            chosen = lamps.indices.filter { !lamps[$0].removed }
        }
        return chosen.sorted { lamps[$0].record.id < lamps[$1].record.id }
    }

    /// Removes a lamp (after the store): it no longer resolves, authenticates, counts or
    /// belongs to a group; its slot stays, empty. Returns the slot, or nil if it is unknown.
    public mutating func remove(_ id: LampID, atMilliseconds now: UInt64) -> Int? {
        guard let slot = slots.removeValue(forKey: id) else { return nil }
        if lamps[slot].online { linkDown(slot, atMilliseconds: now) }
        lamps[slot].removed = true
        lamps[slot].record.groups = []
        lamps[slot].desired.program = .none
        removedCount += 1
        return slot
    }

    /// Marks the lamp in `slot` revoked or restored (after the store): a revoked lamp does
    /// not authenticate (``linkUp(_:atMilliseconds:)`` refuses it, the gateway checks its
    /// hello against a stand-in key).
    public mutating func setRevoked(_ slot: Int, _ revoked: Bool) {
        lamps[slot].record.revoked = revoked
    }

    /// Sets the lamp's key generations (after the store): current, and pending if a rekey
    /// waits for the lamp (SPEC.md §8.12).
    public mutating func setKeyGenerations(_ slot: Int, current: UInt32, pending: UInt32?) {
        lamps[slot].record.keyGeneration = current
        lamps[slot].record.pendingKeyGeneration = pending
    }

    /// Sets the lamp's whole key state from its stored registration (after the store).
    public mutating func setKeyState(_ slot: Int, from record: LampRecord) {
        lamps[slot].record.keyGeneration = record.keyGeneration
        lamps[slot].record.pendingKeyGeneration = record.pendingKeyGeneration
        lamps[slot].record.keyMaster = record.keyMaster
        lamps[slot].record.pendingKeyMaster = record.pendingKeyMaster
    }

    /// What a hello claiming `id` is checked against: whether it may authenticate, its key's
    /// generation and master, and a pending one's (SPEC.md §8.12), in one lock.
    public func helloKeyGenerations(for id: LampID) -> (
        accepted: Bool, current: UInt32, pending: UInt32?, master: String?, pendingMaster: String?
    ) {
        guard let slot = slots[id], !lamps[slot].record.revoked else { return (false, 0, nil, nil, nil) }
        let record = lamps[slot].record
        return (true, record.keyGeneration, record.pendingKeyGeneration, record.keyMaster, record.pendingKeyMaster)
    }

    /// Whether `id` may authenticate: registered and not revoked.
    public func acceptsHello(from id: LampID) -> Bool {
        guard let slot = slots[id] else { return false }
        return !lamps[slot].record.revoked
    }

    // MARK: Desired state

    /// Hands out the next version of the fleet-wide sequence. Every lamp's versions therefore
    /// only increase, and are never reused, even if the change's write fails.
    public mutating func nextVersion() -> UInt32 {
        lastVersion += 1
        return lastVersion
    }

    /// Takes a version handed out elsewhere (the counter several controllers share,
    /// docs/cluster.md) and moves this sequence up to it, so that what this model hands out
    /// later is above it; returns it.
    public mutating func adoptVersion(_ version: UInt32) -> UInt32 {
        lastVersion = max(lastVersion, version)
        return version
    }

    /// Hands out the next program revision. Programs have their own fleet-wide sequence
    /// (control and program are versioned independently, SPEC.md §8.0): every lamp's program
    /// revisions only increase, whichever program it is moved to.
    public mutating func nextProgramRevision() -> UInt32 {
        lastProgramRevision += 1
        return lastProgramRevision
    }

    /// Makes a committed control state current for these lamps and returns their whole
    /// desired states by slot; a lamp that already holds a newer version keeps it (and is
    /// left out).
    public mutating func commit(_ slots: [Int], control: DesiredControl, atMilliseconds now: UInt64) -> [(Int, DesiredState)] {
        var changed: [(Int, DesiredState)] = []
        changed.reserveCapacity(slots.count)
        for slot in slots where control.version > lamps[slot].desired.control.version {
            lamps[slot].desired.control = control
            lamps[slot].desiredAtMilliseconds = now
            changed.append((slot, lamps[slot].desired))
        }
        return changed
    }

    // MARK: What links report

    /// A link authenticated: the lamp is online; returns its slot, its desired state and the
    /// versions its link starts from (SPEC.md §5.4, §8.0). A lamp from another database
    /// (another epoch) counts as having applied nothing. A lamp reporting a version above its
    /// desired one moves the sequence past it and gets its desired state again at fresh
    /// versions (``LinkUp/Outcome/ahead``: the caller stores it); more than
    /// ``LampProtocolLimits/maximumVersionJump`` above the sequence changes nothing
    /// (``LinkUp/Outcome/tooFarAhead``: the caller closes with 4005). A command counts the
    /// lamp applied only when it reports exactly the desired version.
    public mutating func linkUp(_ hello: Hello, atMilliseconds now: UInt64) -> LinkUp? {
        guard let slot = slots[hello.lampID], !lamps[slot].record.revoked else { return nil }
        let reported = ReportedVersions(hello, fleetEpoch: fleetEpoch)
        var outcome: LinkUp.Outcome = hello.carriesFleetEpoch && hello.fleetEpoch != fleetEpoch ? .otherEpoch : .current
        var wanted: UInt32?
        let desired = lamps[slot].desired
        // Control versions and program revisions have sequences of their own.
        for (reportedValue, last) in [(reported.control, lastVersion), (reported.program, lastProgramRevision)]
        where reportedValue > last && reportedValue - last > LampProtocolLimits.maximumVersionJump {
            return LinkUp(slot: slot, desired: desired, reported: reported, outcome: .tooFarAhead(reported: reportedValue))
        }
        if reported.config > desired.config.version && reported.config - desired.config.version > LampProtocolLimits.maximumVersionJump {
            return LinkUp(slot: slot, desired: desired, reported: reported, outcome: .tooFarAhead(reported: reported.config))
        }
        if reported.control > desired.control.version || reported.program > desired.program.revision
            || reported.config > desired.config.version
        {
            wanted = reissue(slot, pastReported: reported, atMilliseconds: now)
            outcome = .ahead
        } else if Self.unproven(reported.control, desired.control.version, lamps[slot].provenControl)
            || Self.unproven(reported.config, desired.config.version, lamps[slot].provenConfig)
        {
            // Found by the Promela model (Protocol/model): a database restored from a backup
            // hands the same numbers out again for other states, with the same epoch, so a
            // hello's "I hold your desired version" proves nothing unless an ack of this run
            // did. Issued again at fresh versions, it is proven the ordinary way: one control
            // (and config) request per lamp after a restart. Program revisions are left out (a
            // whole program transfer per lamp per restart); SPEC.md §8.0 says what that leaves.
            wanted = reissue(slot, pastReported: ReportedVersions(control: reported.control, config: reported.config, program: 0), atMilliseconds: now)
            outcome = .unproven
        }
        lamps[slot].online = true
        lamps[slot].firmware = hello.firmware.value
        lamps[slot].minorVersion = hello.minorVersion
        lamps[slot].capabilities = hello.capabilities
        lamps[slot].minorVersion = hello.minorVersion
        lamps[slot].appliedVersion = reported.control
        lamps[slot].appliedConfigVersion = reported.config
        lamps[slot].appliedProgramRevision = reported.program
        lamps[slot].lastSeenMilliseconds = now
        if tracker.isWaiting {
            // A version waiting for its shared number is issued again: nothing proven yet.
            let proven = reported.control == lamps[slot].desired.control.version && wanted == nil ? reported.control : 0
            tracker.linkUp(slot, appliedVersion: proven, alreadyLinked: lamps[slot].heldElsewhere, atMilliseconds: now)
        }
        // This controller holds the link now (its claim follows).
        lamps[slot].heldElsewhere = false
        return LinkUp(slot: slot, desired: lamps[slot].desired, reported: reported, outcome: outcome, controlVersionWanted: wanted)
    }

    /// Whether a hello's `reported` version of a part equal to its `desired` one lacks the
    /// proof of an ack in this run.
    static func unproven(_ reported: UInt32, _ desired: UInt32, _ proven: UInt32) -> Bool {
        reported != 0 && reported == desired && proven != reported
    }

    /// Issues the lamp's desired state again at versions above what it reported: control
    /// versions and program revisions from their fleet-wide sequences (each moved past the
    /// report first), config from the lamp's own config sequence. The intent, configuration
    /// and program stay what they are. With ``controlVersionsShared`` the control version is
    /// left as it is and the version it must be above is returned: the caller takes one from
    /// the shared counter and gives it to ``reissueControl(_:version:atMilliseconds:)``.
    private mutating func reissue(_ slot: Int, pastReported reported: ReportedVersions, atMilliseconds now: UInt64) -> UInt32? {
        lastVersion = max(lastVersion, reported.control)
        lastProgramRevision = max(lastProgramRevision, reported.program)
        var desired = lamps[slot].desired
        var wanted: UInt32?
        if reported.control >= desired.control.version && reported.control != 0 {
            if controlVersionsShared {
                wanted = reported.control
            } else {
                desired.control.version = nextVersion()
                lamps[slot].desiredAtMilliseconds = now
            }
        }
        if reported.program >= desired.program.revision && reported.program != 0 {
            var builder = ProgramBuilder(programs: programs, defaults: programDefaults)
            desired.program = builder.desired(desired.program.name, revision: nextProgramRevision(), record: lamps[slot].record)
        }
        if reported.config >= desired.config.version && reported.config != 0 {
            desired.config.version = reported.config + 1
        }
        lamps[slot].desired = desired
        return wanted
    }

    /// Issues the lamp's desired control again at `version`, taken from the counter several
    /// controllers share (``controlVersionsShared``); nil, changing nothing, when the desired
    /// state already moved to that version or past it (a newer command came meanwhile).
    public mutating func reissueControl(_ slot: Int, version: UInt32, atMilliseconds now: UInt64) -> DesiredState? {
        guard lamps.indices.contains(slot), version > lamps[slot].desired.control.version else { return nil }
        lamps[slot].desired.control.version = adoptVersion(version)
        lamps[slot].desiredAtMilliseconds = now
        return lamps[slot].desired
    }

    /// The lamp's current link closed.
    public mutating func linkDown(_ slot: Int, atMilliseconds now: UInt64) {
        lamps[slot].online = false
        lamps[slot].lastSeenMilliseconds = now
        if tracker.isWaiting { tracker.linkDown(slot, stillLinked: lamps[slot].heldElsewhere, atMilliseconds: now) }
    }

    /// The lamp applied a control version. Returns the time from the desired state's commit
    /// to this application, when it applied exactly the desired state.
    public mutating func noteControlApplied(_ slot: Int, version: UInt32, atMilliseconds now: UInt64) -> UInt64? {
        if version == lamps[slot].desired.control.version { lamps[slot].provenControl = version }
        guard version > lamps[slot].appliedVersion else { return nil }
        lamps[slot].appliedVersion = version
        lamps[slot].appliedAtMilliseconds = now
        if tracker.isWaiting { tracker.controlApplied(slot, version: version, atMilliseconds: now) }
        let entry = lamps[slot]
        guard version == entry.desired.control.version, entry.desiredAtMilliseconds > 0, now >= entry.desiredAtMilliseconds else {
            return nil
        }
        return now - entry.desiredAtMilliseconds
    }

    /// The lamp applied a config version.
    public mutating func noteConfigApplied(_ slot: Int, version: UInt32) {
        if version == lamps[slot].desired.config.version { lamps[slot].provenConfig = version }
        lamps[slot].appliedConfigVersion = max(lamps[slot].appliedConfigVersion, version)
    }

    /// The lamp refused a control version.
    public mutating func noteRefused(_ slot: Int, version: UInt32, reason: NackReason, atMilliseconds now: UInt64) {
        lamps[slot].refused = (version, reason)
        if tracker.isWaiting { tracker.controlRefused(slot, version: version, lampID: lamps[slot].record.id, atMilliseconds: now) }
    }

    /// The lamp answered a once request (identify, reboot) with this ref.
    public mutating func noteOnceAnswered(_ slot: Int, ref: UInt32, accepted: Bool, atMilliseconds now: UInt64) {
        if tracker.isWaiting {
            tracker.onceAnswered(ref: ref, slot: slot, accepted: accepted, lampID: lamps[slot].record.id, atMilliseconds: now)
        }
    }

    /// The lamp holds this program revision.
    public mutating func noteProgramApplied(_ slot: Int, revision: UInt32) {
        lamps[slot].appliedProgramRevision = max(lamps[slot].appliedProgramRevision, revision)
    }

    /// A status report arrived. Returns the control version it newly proves applied, if any.
    @discardableResult
    public mutating func noteStatus(_ slot: Int, _ report: StatusReport, atMilliseconds now: UInt64) -> UInt32? {
        if let previous = lamps[slot].status, lamps[slot].reportedAtMilliseconds > 0 {
            meterEnergy(slot, from: previous, at: lamps[slot].reportedAtMilliseconds, to: report, at: now)
        }
        lamps[slot].status = report
        lamps[slot].appliedProgramRevision = max(lamps[slot].appliedProgramRevision, report.programRevision)
        lamps[slot].reportedAtMilliseconds = now
        lamps[slot].lastSeenMilliseconds = now
        // Only the desired version itself proves anything: a version above it was never
        // issued by this controller (SPEC.md §8.0).
        guard report.appliedVersion > lamps[slot].appliedVersion, report.appliedVersion == lamps[slot].desired.control.version else {
            return nil
        }
        lamps[slot].appliedVersion = report.appliedVersion
        lamps[slot].appliedAtMilliseconds = now
        if tracker.isWaiting { tracker.controlApplied(slot, version: report.appliedVersion, atMilliseconds: now) }
        return report.appliedVersion
    }

    /// Adds the energy between two reports of a lamp to its open hour; an hour it leaves
    /// goes to ``closedEnergy`` (one append per lamp and hour, not per report).
    private mutating func meterEnergy(_ slot: Int, from previous: StatusReport, at previousAt: UInt64, to report: StatusReport, at now: UInt64) {
        let id = lamps[slot].record.id
        EnergyMeter.spread(
            from: EnergyReading(atMilliseconds: previousAt, energyWattHours: previous.energyWattHours, burnSeconds: previous.burnSeconds),
            to: EnergyReading(atMilliseconds: now, energyWattHours: report.energyWattHours, burnSeconds: report.burnSeconds),
            wattage: lamps[slot].record.wattage
        ) { hour, used, full, lit in
            var open = lamps[slot].openEnergy
            if open.hour != hour {
                if !open.isEmpty {
                    closedEnergy.append(
                        EnergyHour(lampID: id, hour: open.hour, usedWh: open.usedWh, fullPowerWh: open.fullPowerWh, litSeconds: open.litSeconds))
                }
                open = OpenEnergyHour()
                open.hour = hour
            }
            open.usedWh += used
            open.fullPowerWh += full
            open.litSeconds += lit
            lamps[slot].openEnergy = open
        }
    }

    /// Takes every lamp's energy not yet handed to the store (closed hours, and what the
    /// hours under way hold so far, which then start again from zero), for one batch write.
    public mutating func takeEnergy() -> [EnergyHour] {
        var taken = closedEnergy
        closedEnergy.removeAll(keepingCapacity: true)
        for slot in lamps.indices where !lamps[slot].openEnergy.isEmpty {
            let open = lamps[slot].openEnergy
            if open.usedWh > 0 || open.litSeconds > 0 || open.fullPowerWh > 0 {
                taken.append(
                    EnergyHour(lampID: lamps[slot].record.id, hour: open.hour, usedWh: open.usedWh, fullPowerWh: open.fullPowerWh, litSeconds: open.litSeconds))
            }
            lamps[slot].openEnergy.usedWh = 0
            lamps[slot].openEnergy.fullPowerWh = 0
            lamps[slot].openEnergy.litSeconds = 0
        }
        return taken
    }

    /// The most lamp-hours of energy held for the store (``returnEnergy(_:)``): 500,000,
    /// about a day of a 20,000-lamp fleet, some 30 MB. A store that stays down (a dead disk)
    /// then costs no more memory; the oldest hours beyond it are dropped and counted.
    public static let defaultMaximumHeldEnergyHours = 500_000
    /// The bound ``returnEnergy(_:)`` keeps (``defaultMaximumHeldEnergyHours`` unless set).
    public var maximumHeldEnergyHours = FleetModel.defaultMaximumHeldEnergyHours

    /// Energy whose write failed, kept for the next (the store adds hours up, so order does
    /// not matter), within ``maximumHeldEnergyHours``: beyond it the oldest, the returned
    /// ones first, are dropped. Returns what was dropped.
    @discardableResult
    public mutating func returnEnergy(_ energy: [EnergyHour]) -> DroppedEnergy {
        let excess = energy.count + closedEnergy.count - max(0, maximumHeldEnergyHours)
        guard excess > 0 else {
            closedEnergy.insert(contentsOf: energy, at: 0)
            return DroppedEnergy()
        }
        var dropped = DroppedEnergy()
        func drop(_ hour: EnergyHour) {
            dropped.lampHours += 1
            dropped.usedWh += hour.usedWh
        }
        let fromReturned = min(excess, energy.count)
        energy.prefix(fromReturned).forEach(drop)
        let fromClosed = excess - fromReturned
        closedEnergy.prefix(fromClosed).forEach(drop)
        closedEnergy.removeFirst(fromClosed)
        closedEnergy.insert(contentsOf: energy.dropFirst(fromReturned), at: 0)
        return dropped
    }

    // MARK: Commands

    /// Starts counting the answers to a command accepted now: desired state at `version`, or
    /// a once request (version 0) sent to the lamps linked now.
    public mutating func track(
        commandID id: Int64, target: CommandTarget, action: CommandAction, version: UInt32, slots: [Int], atMilliseconds now: UInt64
    ) {
        let lamps = self.lamps
        tracker.track(
            id: id, target: target, action: action, version: version, slots: slots, atMilliseconds: now,
            linked: { lamps[$0].online || lamps[$0].heldElsewhere }, alreadyApplied: { lamps[$0].appliedVersion == version })
    }

    /// Another controller of the cluster holds (or no longer holds) the link of the lamp in
    /// `slot`. A lamp linked to neither counts offline in command progress; one held elsewhere
    /// counts as linked (its ack, its refusal, its answer to identify or reboot are relayed).
    public mutating func setHeldElsewhere(_ slot: Int, _ held: Bool, atMilliseconds now: UInt64) {
        guard lamps.indices.contains(slot), lamps[slot].heldElsewhere != held else { return }
        lamps[slot].heldElsewhere = held
        guard !lamps[slot].online, tracker.isWaiting else { return }
        if held {
            tracker.linkUp(slot, appliedVersion: 0, alreadyLinked: false, atMilliseconds: now)
        } else {
            tracker.linkDown(slot, stillLinked: false, atMilliseconds: now)
        }
    }

    /// Makes ``LampEntry/heldElsewhere`` true for exactly the lamps in `held` (the ownership
    /// rows of the other controllers, read whole): repairs a lost notice or a lapsed owner.
    /// Returns how many lamps changed.
    public mutating func reconcileHeldElsewhere(_ held: Set<Int>, atMilliseconds now: UInt64) -> Int {
        var changed = 0
        for slot in lamps.indices where lamps[slot].heldElsewhere != held.contains(slot) {
            setHeldElsewhere(slot, !lamps[slot].heldElsewhere, atMilliseconds: now)
            changed += 1
        }
        return changed
    }

    /// How many lamps another controller holds.
    public var heldElsewhereCount: Int { lamps.reduce(0) { $0 + ($1.heldElsewhere ? 1 : 0) } }

    /// Publishes the command progress the rate limit held back.
    public mutating func publishDueProgress(atMilliseconds now: UInt64) {
        tracker.publishDue(atMilliseconds: now)
    }

    /// The events that changes made since the last call produced (command progress); the
    /// caller emits them after releasing whatever guards the model.
    public mutating func takeEvents() -> [FleetEvent] {
        tracker.hasEvents ? tracker.takeEvents() : []
    }

    // MARK: Groups

    /// The groups of the lamp in `slot`.
    public func groups(of slot: Int) -> [String] { lamps[slot].record.groups }

    /// Adds and removes lamps to and from a group; unknown ids are skipped.
    public mutating func changeMembers(of group: String, add: [LampID], remove: [LampID]) {
        for id in add {
            if let slot = slots[id], !lamps[slot].record.groups.contains(group) {
                lamps[slot].record.groups.append(group)
                lamps[slot].record.groups.sort()
            }
        }
        for id in remove {
            if let slot = slots[id] {
                lamps[slot].record.groups.removeAll { $0 == group }
            }
        }
    }

    /// Removes a deleted group from every lamp.
    public mutating func removeGroup(_ group: String) {
        for slot in lamps.indices {
            lamps[slot].record.groups.removeAll { $0 == group }
        }
    }

    /// How many lamps are in a group.
    public func memberCount(of group: String) -> Int {
        lamps.reduce(0) { $0 + ($1.record.groups.contains(group) ? 1 : 0) }
    }
}
