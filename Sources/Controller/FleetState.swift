import FleetCore
import FleetStore
import LampProtocol
import LightingPrograms
import Synchronization

/// One lamp as the controller holds it in memory.
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
    /// Whether an authenticated link is open.
    public var online = false

    init(stored: StoredLamp) {
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
    var reportedRecord: ReportedRecord {
        ReportedRecord(
            lampID: record.id, appliedVersion: appliedVersion, configVersion: appliedConfigVersion, firmware: firmware,
            status: status, reportedAtMilliseconds: reportedAtMilliseconds, lastSeenMilliseconds: lastSeenMilliseconds)
    }
}

/// Every registered lamp's state, shared by the gateway's event loops and the API.
///
/// One lock around one table. Each lamp has a **slot**, its index in the table, fixed for the
/// daemon's lifetime: a link looks its lamp up by id once, at authentication, and afterwards
/// every message (ack, status report) is an array access under the lock, not a hash of the id.
/// Fleet-wide operations take the lock once for the whole batch.
public final class FleetState: Sendable {
    struct Table {
        var entries: [LampEntry] = []
        var slots: [LampID: Int] = [:]

        mutating func insert(_ lamp: StoredLamp) {
            guard slots[lamp.record.id] == nil else { return }
            slots[lamp.record.id] = entries.count
            entries.append(LampEntry(stored: lamp))
        }
    }

    private let table: Mutex<Table>
    /// Known programs and the fleet's program defaults (FleetState+Programs).
    let programState = Mutex<(programs: [String: KnownProgram], defaults: ProgramDefaults)>(
        ([:], ProgramDefaults(timeZone: .utc, latitude: nil, longitude: nil)))
    /// The highest control version handed out, committed or not.
    private let lastVersion: Mutex<UInt32>

    /// A fleet loaded from the store; the version sequence continues after `highestVersion`.
    public init(stored: [StoredLamp], highestVersion: UInt32 = 0) {
        lastVersion = Mutex(max(highestVersion, stored.map(\.desired.control.version).max() ?? 0))
        var initial = Table()
        initial.entries.reserveCapacity(stored.count)
        initial.slots.reserveCapacity(stored.count)
        for lamp in stored {
            initial.insert(lamp)
        }
        table = Mutex(initial)
    }

    /// How many lamps are registered.
    public var count: Int { table.withLock { $0.entries.count } }

    /// One lamp's entry.
    public func entry(_ id: LampID) -> LampEntry? {
        table.withLock { table in table.slots[id].map { table.entries[$0] } }
    }

    /// Adds lamps that were registered in the store meanwhile (or just now).
    public func add(_ stored: [StoredLamp]) {
        table.withLock { table in
            for lamp in stored {
                table.insert(lamp)
            }
        }
    }

    /// The slots of the lamps a target addresses, in id order; nil when a single lamp is
    /// unknown. An empty group gives an empty list.
    public func resolve(_ target: CommandTarget) -> [Int]? {
        table.withLock { table in
            let chosen: [Int]
            switch target {
            case .lamp(let id):
                guard let slot = table.slots[id] else { return nil }
                return [slot]
            case .group(let name):
                chosen = table.entries.indices.filter { table.entries[$0].record.groups.contains(name) }
            case .all:
                chosen = Array(table.entries.indices)
            }
            return chosen.sorted { table.entries[$0].record.id < table.entries[$1].record.id }
        }
    }

    /// Hands out the next control version of the fleet-wide sequence. Every lamp's versions
    /// therefore only increase, and are never reused, even if the command's write fails.
    public func nextVersion() -> UInt32 {
        lastVersion.withLock { last in
            last += 1
            return last
        }
    }

    /// Makes a committed control state current for these lamps and returns their whole
    /// desired states by slot; a lamp that already holds a newer version keeps it (and is
    /// left out).
    public func commit(_ slots: [Int], control: DesiredControl, atMilliseconds now: UInt64 = 0) -> [(Int, DesiredState)] {
        table.withLock { table in
            var changed: [(Int, DesiredState)] = []
            changed.reserveCapacity(slots.count)
            for slot in slots where control.version > table.entries[slot].desired.control.version {
                table.entries[slot].desired.control = control
                table.entries[slot].desiredAtMilliseconds = now
                changed.append((slot, table.entries[slot].desired))
            }
            return changed
        }
    }

    /// A link authenticated: the lamp is online; returns its slot and desired state.
    func linkUp(_ hello: Hello, atMilliseconds now: UInt64) -> (slot: Int, desired: DesiredState)? {
        table.withLock { table in
            guard let slot = table.slots[hello.lampID] else { return nil }
            table.entries[slot].online = true
            table.entries[slot].firmware = hello.firmware.value
            table.entries[slot].appliedVersion = hello.appliedVersion
            table.entries[slot].appliedConfigVersion = hello.configVersion
            table.entries[slot].appliedProgramRevision = hello.programRevision
            table.entries[slot].lastSeenMilliseconds = now
            return (slot, table.entries[slot].desired)
        }
    }

    /// The lamp's current link closed.
    func linkDown(_ slot: Int, atMilliseconds now: UInt64) {
        table.withLock { table in
            table.entries[slot].online = false
            table.entries[slot].lastSeenMilliseconds = now
        }
    }

    /// The lamp applied a control or config version, or refused one. Returns the time from
    /// the desired state's commit to this application, when it applied exactly that state.
    @discardableResult
    func noteLinkActions(
        _ slot: Int, applied: UInt32?, appliedConfig: UInt32?, refused: (UInt32, NackReason)?, atMilliseconds now: UInt64
    ) -> UInt64? {
        table.withLock { table in
            var latency: UInt64?
            if let applied, applied > table.entries[slot].appliedVersion {
                table.entries[slot].appliedVersion = applied
                table.entries[slot].appliedAtMilliseconds = now
                let entry = table.entries[slot]
                if applied == entry.desired.control.version, entry.desiredAtMilliseconds > 0, now >= entry.desiredAtMilliseconds {
                    latency = now - entry.desiredAtMilliseconds
                }
            }
            if let appliedConfig {
                table.entries[slot].appliedConfigVersion = max(table.entries[slot].appliedConfigVersion, appliedConfig)
            }
            if let refused { table.entries[slot].refused = (refused.0, refused.1) }
            return latency
        }
    }

    /// The lamp holds this program revision.
    func noteProgramApplied(_ slot: Int, _ revision: UInt32) {
        table.withLock { table in
            table.entries[slot].appliedProgramRevision = max(table.entries[slot].appliedProgramRevision, revision)
        }
    }

    /// Runs `body` with the table locked (for FleetState+Programs).
    func withTable<Result>(_ body: (inout Table) -> Result) -> Result {
        table.withLock { body(&$0) }
    }

    /// A status report arrived.
    func noteStatus(_ slot: Int, _ report: StatusReport, atMilliseconds now: UInt64) {
        table.withLock { table in
            table.entries[slot].status = report
            table.entries[slot].appliedProgramRevision = max(table.entries[slot].appliedProgramRevision, report.programRevision)
            if report.appliedVersion > table.entries[slot].appliedVersion {
                table.entries[slot].appliedVersion = report.appliedVersion
                table.entries[slot].appliedAtMilliseconds = now
            }
            table.entries[slot].reportedAtMilliseconds = now
            table.entries[slot].lastSeenMilliseconds = now
        }
    }

    /// The groups of the lamp in `slot`.
    func groups(of slot: Int) -> [String] {
        table.withLock { $0.entries[slot].record.groups }
    }

    /// Adds and removes lamps to and from a group (after the store did).
    public func changeMembers(of group: String, add: [LampID], remove: [LampID]) {
        table.withLock { table in
            for id in add {
                if let slot = table.slots[id], !table.entries[slot].record.groups.contains(group) {
                    table.entries[slot].record.groups.append(group)
                    table.entries[slot].record.groups.sort()
                }
            }
            for id in remove {
                if let slot = table.slots[id] {
                    table.entries[slot].record.groups.removeAll { $0 == group }
                }
            }
        }
    }

    /// Removes a deleted group from every lamp.
    public func removeGroup(_ group: String) {
        table.withLock { table in
            for slot in table.entries.indices {
                table.entries[slot].record.groups.removeAll { $0 == group }
            }
        }
    }

    /// Runs `body` over a consistent snapshot of every entry, indexed by slot.
    public func withEntries<Result>(_ body: ([LampEntry]) -> Result) -> Result {
        table.withLock { body($0.entries) }
    }

    /// The reported states of the lamps in these slots, for the writer.
    func reportedRecords(_ slots: some Sequence<Int>) -> [ReportedRecord] {
        table.withLock { table in slots.map { table.entries[$0].reportedRecord } }
    }
}
