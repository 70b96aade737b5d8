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

/// A small, fast, seedable generator (SplitMix64, Steele et al. 2014) for jitter inside the
/// state machines: repeatable in tests, and seeded per link from its fresh nonce.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator starting from `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
