import Synchronization

/// The one order in which the fleet's structure changes, so that the store and the fleet
/// model in memory always change together: a change of lamps, groups or programs runs
/// *exclusively* (it awaits its store write, then applies it to the model, and only then
/// may the next begin), and commands run *shared* (any number at once, but never while a
/// change runs), so a command resolves its target in memory and writes it to the store
/// against the same membership.
///
/// Without it, two edits of one group could reach the store in one order and the model in
/// the other, leaving them to disagree until a restart (issue 11, problem 7).
///
/// An asynchronous readers-writer lock, first come first served: a change waits for the
/// commands before it, and commands after a waiting change wait for it (a stream of
/// commands cannot starve a change). A command that finds no change running or waiting
/// takes one uncontended lock and does not suspend.
public final class FleetMutations: Sendable {
    private struct Waiter {
        var exclusive: Bool
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var sharedHolders = 0
        var exclusiveHeld = false
        var waiters: [Waiter] = []
        var head = 0

        var hasWaiters: Bool { head < waiters.count }

        /// Who may run now that a holder left: the next change alone, or every command up
        /// to the next change.
        mutating func admit() -> [CheckedContinuation<Void, Never>] {
            guard !exclusiveHeld, hasWaiters else { return [] }
            var admitted: [CheckedContinuation<Void, Never>] = []
            if waiters[head].exclusive {
                guard sharedHolders == 0 else { return [] }
                exclusiveHeld = true
                admitted.append(waiters[head].continuation)
                head += 1
            } else {
                while hasWaiters && !waiters[head].exclusive {
                    sharedHolders += 1
                    admitted.append(waiters[head].continuation)
                    head += 1
                }
            }
            if head == waiters.count {
                waiters.removeAll(keepingCapacity: true)
                head = 0
            }
            return admitted
        }
    }

    private let state = Mutex(State())

    /// An idle lock.
    public init() {}

    /// Runs `body` alone: no other change and no command runs meanwhile.
    public func exclusive<Result, Failure: Error>(_ body: () async throws(Failure) -> Result) async throws(Failure) -> Result {
        await acquire(exclusive: true)
        defer { release(exclusive: true) }
        return try await body()
    }

    /// Runs `body` beside other commands, never beside a change.
    public func shared<Result, Failure: Error>(_ body: () async throws(Failure) -> Result) async throws(Failure) -> Result {
        await acquire(exclusive: false)
        defer { release(exclusive: false) }
        return try await body()
    }

    private func acquire(exclusive: Bool) async {
        let admitted = state.withLock { state -> Bool in
            guard !state.exclusiveHeld, !state.hasWaiters else { return false }
            if exclusive {
                guard state.sharedHolders == 0 else { return false }
                state.exclusiveHeld = true
            } else {
                state.sharedHolders += 1
            }
            return true
        }
        if admitted { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let run = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.waiters.append(Waiter(exclusive: exclusive, continuation: continuation))
                // The holders may have left between the first look and now.
                return state.admit()
            }
            for continuation in run { continuation.resume() }
        }
    }

    private func release(exclusive: Bool) {
        let run = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if exclusive {
                state.exclusiveHeld = false
            } else {
                state.sharedHolders -= 1
            }
            return state.admit()
        }
        for continuation in run { continuation.resume() }
    }
}
