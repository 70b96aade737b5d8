/// Reconnect delays with exponential backoff and random jitter, as OCPP 2.0.1 and SPEC.md §13
/// describe: the first wait is `minimum + random(0...jitter)`, each later one doubles up to
/// `cap`, and a successful connection resets it.
///
/// The jitter spreads a fleet's reconnects after a controller restart over several seconds
/// instead of one instant (the "reconnect storm").
public struct Backoff: Sendable {
    /// The smallest wait, milliseconds.
    public let minimumMilliseconds: UInt64
    /// The random part's range, milliseconds.
    public let jitterMilliseconds: UInt64
    /// The largest wait, milliseconds.
    public let capMilliseconds: UInt64
    /// Failed attempts since the last success.
    public private(set) var failures = 0

    /// A backoff policy; the defaults are SPEC.md §13's recommendation.
    public init(minimumMilliseconds: UInt64 = 1000, jitterMilliseconds: UInt64 = 5000, capMilliseconds: UInt64 = 300_000) {
        self.minimumMilliseconds = minimumMilliseconds
        self.jitterMilliseconds = jitterMilliseconds
        self.capMilliseconds = max(capMilliseconds, minimumMilliseconds)
    }

    /// The wait before the next attempt, after one more failure.
    public mutating func nextDelay(using generator: inout some RandomNumberGenerator) -> UInt64 {
        let doublings = UInt64(min(failures, 20))
        failures += 1
        let base = minimumMilliseconds << doublings
        let jitter = jitterMilliseconds == 0 ? 0 : UInt64.random(in: 0...jitterMilliseconds, using: &generator)
        return min(capMilliseconds, base &+ jitter)
    }

    /// A connection succeeded: start again from the minimum.
    public mutating func reset() {
        failures = 0
    }
}
