import Synchronization

/// Runs `body` in a task of its own and waits for it at most `wait`: its result, or nil if
/// it had not finished by then (it then goes on, unwaited for). Unlike a task group, the
/// waiter returns on time even when `body` ignores cancellation (a pool that waits for a
/// connection to a database that cannot be reached).
func result<Value: Sendable>(
    of body: @escaping @Sendable () async throws -> Value, waitingAtMost wait: Duration
) async -> Result<Value, any Error>? {
    let once = ResumeOnce()
    return await withCheckedContinuation { (continuation: CheckedContinuation<Result<Value, any Error>?, Never>) in
        let work = Task {
            let outcome: Result<Value, any Error>
            do {
                outcome = .success(try await body())
            } catch {
                outcome = .failure(error)
            }
            if once.claim() { continuation.resume(returning: outcome) }
        }
        Task {
            try? await Task.sleep(for: wait)
            if once.claim() {
                continuation.resume(returning: nil)
                _ = work
            }
        }
    }
}

/// Lets exactly one of several racers resume a continuation (or send a close frame).
final class ResumeOnce: Sendable {
    private let claimed = Mutex(false)

    /// True for the first caller only.
    func claim() -> Bool {
        claimed.withLock { claimed in
            defer { claimed = true }
            return !claimed
        }
    }
}
