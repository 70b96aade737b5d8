import Synchronization

/// The limits on failed handshakes from one source address (issue 12: a flood of wrong-key
/// or unknown-id hellos). After ``maximumFailures`` failures within ``windowMilliseconds``,
/// the address's new connections to the lamp port are closed before the upgrade for a
/// backoff that starts at ``firstBackoffMilliseconds`` and doubles at each new offence up to
/// ``maximumBackoffMilliseconds``; an address quiet for ``maximumBackoffMilliseconds`` after
/// its backoff is forgotten. At most ``maximumAddresses`` addresses are tracked (a few
/// dozen bytes each); beyond that, new addresses go untracked until old ones are forgotten.
///
/// Lamps behind one NAT share an address: a misbehaving device there backs off its
/// neighbours too, for at most the maximum backoff. Operators with such sites raise
/// ``maximumFailures`` (`lamplighterd run --handshake-failures`).
public struct HandshakeFailureLimits: Sendable, Equatable {
    /// Failed handshakes from one address within the window that start a backoff (0: never).
    public var maximumFailures: Int = 20
    /// The window the failures are counted in, milliseconds.
    public var windowMilliseconds: UInt64 = 60_000
    /// The first backoff of an address, milliseconds; each next one doubles.
    public var firstBackoffMilliseconds: UInt64 = 10_000
    /// The longest backoff, milliseconds.
    public var maximumBackoffMilliseconds: UInt64 = 600_000
    /// Addresses tracked at most.
    public var maximumAddresses: Int = 65_536

    /// The default limits.
    public init() {}

    /// Limits of `maximumFailures` in `windowMilliseconds`, backing off from
    /// `firstBackoffMilliseconds` up to `maximumBackoffMilliseconds`.
    public init(
        maximumFailures: Int, windowMilliseconds: UInt64, firstBackoffMilliseconds: UInt64, maximumBackoffMilliseconds: UInt64,
        maximumAddresses: Int = 65_536
    ) {
        self.maximumFailures = maximumFailures
        self.windowMilliseconds = windowMilliseconds
        self.firstBackoffMilliseconds = firstBackoffMilliseconds
        self.maximumBackoffMilliseconds = maximumBackoffMilliseconds
        self.maximumAddresses = maximumAddresses
    }

    /// Whether the figures make sense together.
    var isValid: Bool {
        maximumFailures >= 0 && windowMilliseconds >= 1 && firstBackoffMilliseconds >= 1
            && maximumBackoffMilliseconds >= firstBackoffMilliseconds && maximumAddresses >= 1
    }
}

/// Counts failed handshakes per source address and says which addresses are backed off
/// (see ``HandshakeFailureLimits``). Any event loop may call it; one lock, no I/O.
final class HandshakeFailureLimiter: Sendable {
    private struct Entry {
        var windowStart: UInt64
        var failures: Int
        var blockedUntil: UInt64
        var lastBackoff: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var lastPrune: UInt64 = 0
    }

    let limits: HandshakeFailureLimits
    private let state = Mutex(State())
    private let counters: GatewayCounters

    init(limits: HandshakeFailureLimits, counters: GatewayCounters) {
        self.limits = limits
        self.counters = counters
    }

    /// Addresses tracked now.
    var trackedAddresses: Int { state.withLock { $0.entries.count } }

    /// Whether a new connection from `address` may go on (false: it is backed off; counted).
    func admits(_ address: String, atMilliseconds now: UInt64) -> Bool {
        guard limits.maximumFailures > 0 else { return true }
        let blocked = state.withLock { state in (state.entries[address]?.blockedUntil ?? 0) > now }
        if blocked { counters.closedBackedOff.add() }
        return !blocked
    }

    /// A handshake from `address` failed; true if that started a backoff.
    @discardableResult
    func failed(_ address: String, atMilliseconds now: UInt64) -> Bool {
        guard limits.maximumFailures > 0 else { return false }
        let limits = self.limits
        let outcome = state.withLock { state -> Bool? in
            if state.entries[address] == nil, state.entries.count >= limits.maximumAddresses {
                Self.prune(&state, now: now, limits: limits)
                guard state.entries.count < limits.maximumAddresses else { return nil }
            }
            var entry = state.entries[address] ?? Entry(windowStart: now, failures: 0, blockedUntil: 0, lastBackoff: 0)
            if now >= entry.windowStart + limits.windowMilliseconds {
                entry.windowStart = now
                entry.failures = 0
            }
            entry.failures += 1
            var started = false
            if entry.failures >= limits.maximumFailures {
                let backoff = entry.lastBackoff == 0 ? limits.firstBackoffMilliseconds : min(entry.lastBackoff * 2, limits.maximumBackoffMilliseconds)
                entry.blockedUntil = now + backoff
                entry.lastBackoff = backoff
                entry.failures = 0
                entry.windowStart = now
                started = true
            }
            state.entries[address] = entry
            return started
        }
        switch outcome {
        case nil:
            counters.failuresUntracked.add()
            return false
        case let started?:
            if started { counters.backoffsStarted.add() }
            return started
        }
    }

    /// Forgets addresses quiet for the maximum backoff past their backoff and window; at most
    /// once a second, so a full table of active addresses costs no scan per failure.
    private static func prune(_ state: inout State, now: UInt64, limits: HandshakeFailureLimits) {
        guard now >= state.lastPrune + 1000 || now < state.lastPrune else { return }
        state.lastPrune = now
        state.entries = state.entries.filter { _, entry in
            let quietSince = max(entry.blockedUntil, entry.windowStart + limits.windowMilliseconds)
            return now < quietSince + limits.maximumBackoffMilliseconds
        }
    }
}
