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
    /// The highest control version handed out, committed or not: versions only increase.
    var reservedControlVersion: UInt32
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
        reservedControlVersion = stored.desired.control.version
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

/// Which lamps a command addresses.
public enum CommandTarget: Sendable, Hashable, CustomStringConvertible {
    /// One lamp.
    case lamp(LampID)
    /// Every lamp in a group.
    case group(String)
    /// The whole fleet.
    case all

    /// Parses `lamp:ID`, `group:NAME` or `all`; nil for anything else.
    public init?(_ text: String) {
        if text == "all" {
            self = .all
        } else if text.hasPrefix("lamp:"), let id = LampID(String(text.dropFirst(5))) {
            self = .lamp(id)
        } else if text.hasPrefix("group:"), GroupName.isValid(String(text.dropFirst(6))) {
            self = .group(String(text.dropFirst(6)))
        } else {
            return nil
        }
    }

    /// The target as text.
    public var description: String {
        switch self {
        case .lamp(let id): "lamp:\(id)"
        case .group(let name): "group:\(name)"
        case .all: "all"
        }
    }
}

/// Group names: 1 to 64 characters of `A-Z a-z 0-9 . _ -`, like lamp ids but longer.
public enum GroupName {
    /// Whether `name` is a valid group name.
    public static func isValid(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy(LampID.isAllowed)
    }
}

/// Every registered lamp's state, shared by the gateway's event loops and the API.
///
/// One lock around one dictionary: every operation is a few dictionary accesses, so the lock
/// is held for microseconds; fleet-wide operations take it once for the whole batch.
public final class FleetState: Sendable {
    private let lamps: Mutex<[LampID: LampEntry]>

    /// A fleet loaded from the store.
    public init(stored: [StoredLamp]) {
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

    /// Hands out the next control version for each lamp and the desired state it would
    /// have, without committing it. Versions are never reused, even if the commit fails.
    public func reserve(_ ids: [LampID], intent: ControlIntent, fade: FadeTime) -> [(LampID, DesiredState)] {
        lamps.withLock { table in
            ids.compactMap { id in
                guard var entry = table[id] else { return nil }
                entry.reservedControlVersion = max(entry.reservedControlVersion, entry.desired.control.version) + 1
                table[id] = entry
                var desired = entry.desired
                desired.control = DesiredControl(version: entry.reservedControlVersion, intent: intent, fade: fade)
                return (id, desired)
            }
        }
    }

    /// Makes committed desired states current; an older one than held is ignored.
    public func commit(_ states: [(LampID, DesiredState)]) {
        lamps.withLock { table in
            for (id, state) in states {
                guard var entry = table[id], state.control.version > entry.desired.control.version else { continue }
                entry.desired.control = state.control
                table[id] = entry
            }
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
