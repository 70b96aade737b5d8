import FleetCore
import LampProtocol
import Logging
import OperatorAPI
import ServiceLifecycle
import Synchronization

/// Lets the first record of a kind per key through in each window and counts the rest, so a
/// flood writes one row and one summary a window per key, not one row per attempt. At most
/// ``maximumKeys`` keys are tracked; records of further keys share one overflow key, so the
/// rows a window can cost are bounded however many keys an attacker uses.
final class RecordThrottle<Payload: Sendable>: Sendable {
    /// The key records of untracked keys share once the table is full.
    static var overflowKey: String { "(other sources)" }

    private struct Entry {
        var windowStart: UInt64
        var suppressed: Int
        var last: Payload
    }

    let windowMilliseconds: UInt64
    let maximumKeys: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(windowMilliseconds: UInt64, maximumKeys: Int) {
        self.windowMilliseconds = windowMilliseconds
        self.maximumKeys = maximumKeys
    }

    /// Whether to write this record (the first for its key in the window); otherwise it is
    /// counted for the window's summary.
    func admit(_ key: String, _ payload: Payload, atMilliseconds now: UInt64) -> Bool {
        let maximumKeys = self.maximumKeys
        return entries.withLock { entries in
            var key = key
            if entries[key] == nil, entries.count >= maximumKeys { key = Self.overflowKey }
            if var entry = entries[key] {
                entry.suppressed += 1
                entry.last = payload
                entries[key] = entry
                return false
            }
            entries[key] = Entry(windowStart: now, suppressed: 0, last: payload)
            return true
        }
    }

    /// The keys whose window ended, with the records suppressed in it (if any) and the last
    /// one's payload; they are forgotten, so their next record is written again.
    func takeEnded(atMilliseconds now: UInt64) -> [(key: String, suppressed: Int, last: Payload)] {
        let window = windowMilliseconds
        return entries.withLock { entries in
            var ended: [(key: String, suppressed: Int, last: Payload)] = []
            for (key, entry) in entries where now >= entry.windowStart + window {
                if entry.suppressed > 0 { ended.append((key, entry.suppressed, entry.last)) }
                entries[key] = nil
            }
            return ended
        }
    }

    /// Keys tracked now.
    var trackedKeys: Int { entries.withLock { $0.count } }
}

/// How long the event history and the audit log are kept, and how failed-authentication
/// records are bounded (issue 12: every failed hello stored a row for ever; a viewer's 403s
/// wrote 6,472 audit rows a second).
public struct HistoryLimits: Sendable, Equatable {
    /// Events older than this many days are deleted (nil: kept for ever).
    public var eventRetentionDays: Int? = 90
    /// Audit entries older than this many days are deleted (nil: kept for ever).
    public var auditRetentionDays: Int? = 365
    /// Hourly energy older than this many days is deleted (nil: kept for ever).
    public var energyRetentionDays: Int? = 400
    /// How often the old rows are deleted, milliseconds.
    public var pruneIntervalMilliseconds: UInt64 = 3_600_000
    /// Failed hellos (per source address, and lamp if registered) and refused API requests (per token, method and
    /// path) store their
    /// first record in each window of this length, then one summary
    /// of the rest.
    public var throttleWindowMilliseconds: UInt64 = 60_000
    /// Source addresses or tokens tracked at most; the rest share one key.
    public var throttleKeys = 256

    /// The defaults: events 90 days, audit 365 days, one record a minute per source.
    public init() {}
}

/// Keeps the stored history bounded: throttles failed-hello events and 403 audit entries
/// (first one per key and minute, then a summary row "N more in the last minute"), and
/// deletes events and audit entries past their retention, once at start and then every
/// ``HistoryLimits/pruneIntervalMilliseconds``.
public final class HistoryKeeper: Service, Sendable {
    /// A refused request's caller, for its summary row.
    struct Denial: Sendable {
        var caller: Caller
        var method: String
        var path: String
    }

    let limits: HistoryLimits
    let authFailures: RecordThrottle<LampID>
    let denials: RecordThrottle<Denial>
    private let store: any FleetStoring
    private let events: FleetEvents
    private let clock: any FleetClock
    private let logger: Logger
    private let lastPrune = Atomic<UInt64>(0)

    init(limits: HistoryLimits, store: any FleetStoring, events: FleetEvents, clock: any FleetClock, logger: Logger) {
        self.limits = limits
        self.store = store
        self.events = events
        self.clock = clock
        self.logger = logger
        authFailures = RecordThrottle(windowMilliseconds: limits.throttleWindowMilliseconds, maximumKeys: limits.throttleKeys)
        denials = RecordThrottle(windowMilliseconds: limits.throttleWindowMilliseconds, maximumKeys: limits.throttleKeys)
    }

    /// A hello from `source` failed: stored as `auth.failed` if it is the first in the window
    /// for its key, else counted for the summary. The key is the source and the id for a
    /// registered lamp (its failures are the operator's business: a misprovisioned or attacked
    /// lamp), the source alone for an unknown id (noise: one row a minute whatever the ids).
    func authFailed(_ id: LampID, registered: Bool, reason: String, source: String?) {
        let now = clock.nowMilliseconds()
        let source = source ?? "an unknown address"
        if authFailures.admit(registered ? "\(source) \(id)" : source, id, atMilliseconds: now) {
            events.emit(.authFailed(id, reason: "\(reason) (from \(source))"), atMilliseconds: now)
        }
    }

    /// Whether a refused request's audit entry is to be written (the first of its token,
    /// method and path in the window); otherwise it is counted for the summary.
    func admitDenial(_ caller: Caller, method: String, path: String) -> Bool {
        denials.admit("\(caller.name) \(method) \(path)", Denial(caller: caller, method: method, path: path), atMilliseconds: clock.nowMilliseconds())
    }

    /// Writes the summaries of the windows that ended, and prunes when it is due.
    func sweep() async {
        let now = clock.nowMilliseconds()
        let seconds = limits.throttleWindowMilliseconds / 1000
        for (key, count, lampID) in authFailures.takeEnded(atMilliseconds: now) {
            let source = key == RecordThrottle<LampID>.overflowKey ? key : key.split(separator: " ").first.map(String.init) ?? key
            events.emit(.authFailed(lampID, reason: "\(count) more failed hellos from \(source) in the last \(seconds) s"), atMilliseconds: now)
        }
        for (key, count, denial) in denials.takeEnded(atMilliseconds: now) {
            let caller = key == RecordThrottle<Denial>.overflowKey ? Caller(name: key, role: denial.caller.role) : denial.caller
            let entry = FleetService.entry(
                caller, "denied", target: denial.path, detail: "\(count) more refused requests in the last \(seconds) s (last: \(denial.method))",
                outcome: "refused: role \(denial.caller.role.rawValue)", atMilliseconds: now)
            do {
                try await store.appendAudit(entry)
            } catch {
                logger.error("writing the audit log failed", metadata: ["error": "\(error)", "audit.action": "denied"])
            }
        }
        let last = lastPrune.load(ordering: .relaxed)
        if last == 0 || now >= last + limits.pruneIntervalMilliseconds {
            lastPrune.store(now, ordering: .relaxed)
            await prune(atMilliseconds: now)
        }
    }

    /// Deletes what is past its retention.
    func prune(atMilliseconds now: UInt64) async {
        let day: UInt64 = 86_400_000
        let eventsBefore = limits.eventRetentionDays.map { now - min(now, UInt64($0) * day) }
        let auditBefore = limits.auditRetentionDays.map { now - min(now, UInt64($0) * day) }
        if let days = limits.energyRetentionDays {
            do {
                let deleted = try await store.pruneEnergy(before: EnergyMeter.hour(now - min(now, UInt64(days) * day)))
                if deleted > 0 { logger.info("deleted energy past its retention", metadata: ["energy.hours.deleted": "\(deleted)"]) }
            } catch {
                logger.error("deleting old energy failed", metadata: ["error": "\(error)"])
            }
        }
        guard eventsBefore != nil || auditBefore != nil else { return }
        do {
            let (events, audit) = try await store.prune(eventsBefore: eventsBefore, auditBefore: auditBefore)
            if events + audit > 0 {
                logger.info("deleted history past its retention", metadata: ["events.deleted": "\(events)", "audit.deleted": "\(audit)"])
            }
        } catch {
            logger.error("deleting old history failed", metadata: ["error": "\(error)"])
        }
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await sweep()
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            } catch {
                break
            }
        }
        await sweep()
    }
}
