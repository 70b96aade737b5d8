import FleetCore
import FleetStore
import LampProtocol
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
/// One lock around one dictionary: every operation is a few dictionary accesses, so the lock
/// is held for microseconds; fleet-wide operations take it once for the whole batch.
public final class FleetState: Sendable {
    private let lamps: Mutex<[LampID: LampEntry]>
    /// The highest control version handed out, committed or not.
    private let lastVersion: Mutex<UInt32>

    /// A fleet loaded from the store; the version sequence continues after `highestVersion`.
    public init(stored: [StoredLamp], highestVersion: UInt32 = 0) {
        lastVersion = Mutex(max(highestVersion, stored.map(\.desired.control.version).max() ?? 0))
        var table: [LampID: LampEntry] = [:]
        table.reserveCapacity(stored.count)
        for lamp in stored {
            table[lamp.record.id] = LampEntry(stored: lamp)
        }
        lamps = Mutex(table)
    }

    /// How many lamps are registered.
    public var count: Int { lamps.withLock { $0.count } }

    /// How many lamps are online.
    public var onlineCount: Int { lamps.withLock { $0.values.reduce(0) { $0 + ($1.online ? 1 : 0) } } }

    /// One lamp's entry.
    public func entry(_ id: LampID) -> LampEntry? {
        lamps.withLock { $0[id] }
    }

    /// Adds lamps that were registered in the store meanwhile (or just now).
    public func add(_ stored: [StoredLamp]) {
        lamps.withLock { table in
            for lamp in stored where table[lamp.record.id] == nil {
                table[lamp.record.id] = LampEntry(stored: lamp)
            }
        }
    }

    /// The lamps a target addresses, sorted; nil when a single lamp is unknown. An empty
    /// group gives an empty list.
    public func resolve(_ target: CommandTarget) -> [LampID]? {
        lamps.withLock { table in
            switch target {
            case .lamp(let id): return table[id] == nil ? nil : [id]
            case .group(let name): return table.values.filter { $0.record.groups.contains(name) }.map(\.record.id).sorted()
            case .all: return table.keys.sorted()
            }
        }
    }

    /// Whether any lamp is in the group.
    public func groupExists(_ name: String) -> Bool {
        lamps.withLock { $0.values.contains { $0.record.groups.contains(name) } }
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
    /// desired states; a lamp that already holds a newer version keeps it (and is left out).
    public func commit(_ ids: [LampID], control: DesiredControl) -> [(LampID, DesiredState)] {
        lamps.withLock { table in
            var changed: [(LampID, DesiredState)] = []
            changed.reserveCapacity(ids.count)
            for id in ids {
                guard var entry = table[id], control.version > entry.desired.control.version else { continue }
                entry.desired.control = control
                table[id] = entry
                changed.append((id, entry.desired))
            }
            return changed
        }
    }

    /// A link authenticated: the lamp is online; returns its desired state.
    func linkUp(_ hello: Hello, atMilliseconds now: UInt64) -> DesiredState? {
        lamps.withLock { table in
            guard var entry = table[hello.lampID] else { return nil }
            entry.online = true
            entry.firmware = hello.firmware.value
            entry.appliedVersion = hello.appliedVersion
            entry.appliedConfigVersion = hello.configVersion
            entry.lastSeenMilliseconds = now
            table[hello.lampID] = entry
            return entry.desired
        }
    }

    /// The lamp's current link closed.
    func linkDown(_ id: LampID, atMilliseconds now: UInt64) {
        lamps.withLock { table in
            table[id]?.online = false
            table[id]?.lastSeenMilliseconds = now
        }
    }

    /// The lamp applied a control or config version, or refused one.
    func noteLinkActions(
        _ id: LampID, applied: UInt32?, appliedConfig: UInt32?, refused: (UInt32, NackReason)?, atMilliseconds now: UInt64
    ) {
        lamps.withLock { table in
            guard var entry = table[id] else { return }
            if let applied, applied > entry.appliedVersion {
                entry.appliedVersion = applied
                entry.appliedAtMilliseconds = now
            }
            if let appliedConfig { entry.appliedConfigVersion = max(entry.appliedConfigVersion, appliedConfig) }
            if let refused { entry.refused = (refused.0, refused.1) }
            table[id] = entry
        }
    }

    /// A status report arrived; returns the faults it had before, to detect changes.
    func noteStatus(_ id: LampID, _ report: StatusReport, atMilliseconds now: UInt64) -> FaultSet? {
        lamps.withLock { table in
            guard var entry = table[id] else { return nil }
            let before = entry.status?.faults
            entry.status = report
            if report.appliedVersion > entry.appliedVersion {
                entry.appliedVersion = report.appliedVersion
                entry.appliedAtMilliseconds = now
            }
            entry.reportedAtMilliseconds = now
            entry.lastSeenMilliseconds = now
            table[id] = entry
            return before ?? []
        }
    }

    /// Runs `body` over a consistent snapshot of the given lamps (all when nil).
    public func withEntries<Result>(_ body: ([LampID: LampEntry]) -> Result) -> Result {
        lamps.withLock { body($0) }
    }

    /// The reported states of these lamps, for the writer.
    func reportedRecords(_ ids: some Sequence<LampID>) -> [ReportedRecord] {
        lamps.withLock { table in ids.compactMap { table[$0]?.reportedRecord } }
    }
}
