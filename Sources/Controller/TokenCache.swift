import FleetCore
import LampAuth
import Logging
import Synchronization

/// The operator API's tokens in memory, in step with the store (issue 12: every request read
/// its token from SQLite). A request finds its token here without touching the database.
///
/// In step: a token created or revoked through this process's API changes the cache at once
/// (a revoked token's next request gets 401). `lamplighterd token create|revoke` writes the
/// database from another process: the cache reads the token table again when it is older
/// than ``maximumAgeMilliseconds`` (the request waits for that one small read), and on a
/// miss when it is older than ``missRefreshMilliseconds``, so a token made on the command
/// line works at once and one revoked there stops within a second. Reads are coalesced: a
/// flood of unknown tokens costs at most one read of the table per ``missRefreshMilliseconds``.
final class TokenCache: Sendable {
    /// How old the cache may be before a request waits for a fresh read, milliseconds.
    static let maximumAgeMilliseconds: UInt64 = 1000
    /// How old it may be before a miss reads the table again, milliseconds.
    static let missRefreshMilliseconds: UInt64 = 100

    private struct State {
        var records: [TokenRecord] = []
        /// When the records were read (nil: never).
        var loadedAt: UInt64?
        /// A change through this process since: the next request reads the table again
        /// (waiting at most ``refreshWait``: a table was read before).
        var stale = false
        /// Bumped by every change through this process: a read begun before it is stale.
        var version: UInt64 = 0
        var reading: (version: UInt64, task: Task<[TokenRecord], any Error>)?
    }

    private let store: any FleetStoring
    private let clock: any FleetClock
    private let state = Mutex(State())

    init(store: any FleetStoring, clock: any FleetClock) {
        self.store = store
        self.clock = clock
    }

    /// The token whose SHA-256 is `hash`, or nil; throws only when the store cannot be read
    /// and nothing was ever read from it.
    func record(hash: [UInt8]) async throws -> TokenRecord? {
        let now = clock.nowMilliseconds()
        let (found, age, stale) = state.withLock { state in
            (Self.find(hash, in: state.records), state.loadedAt.map { now &- $0 }, state.stale)
        }
        if let age, !stale {
            if found != nil, age < Self.maximumAgeMilliseconds { return found }
            if found == nil, age < Self.missRefreshMilliseconds { return nil }
        }
        do {
            // With a table already read, a store that does not answer (a database that
            // cannot be reached) delays a request at most refreshWait; the read goes on.
            try await refresh(waitingAtMost: age == nil ? nil : Self.refreshWait)
        } catch {
            // A stale table is better than none; with none the caller answers 500.
            guard age != nil else { throw error }
        }
        return state.withLock { Self.find(hash, in: $0.records) }
    }

    /// Compares `hash` with every token's, each in constant time, and never stops early.
    static func find(_ hash: [UInt8], in records: [TokenRecord]) -> TokenRecord? {
        var found: TokenRecord?
        for record in records where ConstantTime.equal(record.hash, hash) {
            found = record
        }
        return found
    }

    /// A token was created or revoked through this process: `revoked` (a name) leaves at
    /// once, and the next request reads the table again.
    func changed(revoked name: String? = nil) {
        state.withLock { state in
            state.version += 1
            state.stale = true
            if let name { state.records.removeAll { $0.name == name } }
        }
    }

    /// The longest a request waits for a refresh when a table was read before.
    static let refreshWait: Duration = .seconds(1)

    /// The refresh did not finish within its wait: the stale table is used.
    struct RefreshWaitExceeded: Error {}

    /// Reads the table (one read at a time; callers meanwhile wait for it, at most `wait`:
    /// then RefreshWaitExceeded is thrown and the read goes on for the next caller).
    private func refresh(waitingAtMost wait: Duration?) async throws {
        let store = self.store
        let (version, task) = state.withLock { state in
            if let reading = state.reading, reading.version == state.version { return reading }
            let reading = (version: state.version, task: Task { try await store.tokens() })
            state.reading = reading
            return reading
        }
        let result: Result<[TokenRecord], any Error>
        if let wait {
            guard let first = await Controller.result(of: { try await task.value }, waitingAtMost: wait) else { throw RefreshWaitExceeded() }
            result = first
        } else {
            result = await task.result
        }
        let now = clock.nowMilliseconds()
        state.withLock { state in
            if state.reading?.task == task { state.reading = nil }
            // A change through this process since the read began makes its answer stale.
            if case .success(let records) = result, state.version == version {
                state.records = records
                state.loadedAt = now
                state.stale = false
            }
        }
        _ = try result.get()
    }
}
