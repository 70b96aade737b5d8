import Synchronization

/// Where the controller's state machines, sweeper, program watch and services get the time:
/// the wall clock in production, a ``ManualClock`` in tests, so deadlines, pings, retries and
/// program evaluation are tested without waiting.
public protocol FleetClock: Sendable {
    /// Now, Unix milliseconds (UTC).
    func nowMilliseconds() -> UInt64
}

/// The system's wall clock.
public struct SystemClock: FleetClock {
    /// The wall clock.
    public init() {}

    public func nowMilliseconds() -> UInt64 { WallClock.nowMilliseconds() }
}

/// A clock that moves only when told to.
public final class ManualClock: FleetClock {
    private let now: Atomic<UInt64>

    /// A clock standing at `milliseconds`.
    public init(milliseconds: UInt64 = 1_800_000_000_000) {
        now = Atomic(milliseconds)
    }

    public func nowMilliseconds() -> UInt64 { now.load(ordering: .relaxed) }

    /// Moves the clock forward.
    public func advance(milliseconds: UInt64) {
        now.wrappingAdd(milliseconds, ordering: .relaxed)
    }
}
