/// The simulated lamps' clock: real time, or (with `--time-scale`/`--start-time`) a clock that
/// starts at a chosen instant and runs `scale` times as fast, so a night passes in seconds.
struct SimClock: Sendable {
    /// Simulated seconds per real second.
    let scale: Double
    /// Real Unix ms at which the simulated clock read `startMilliseconds`.
    let originMilliseconds: UInt64
    /// The simulated clock at the origin, Unix ms.
    let startMilliseconds: UInt64
    /// Whether the lamps keep their own clock instead of setting it from the welcome.
    let isSimulated: Bool

    /// Real time.
    static func real() -> SimClock {
        SimClock(scale: 1, originMilliseconds: 0, startMilliseconds: 0, isSimulated: false)
    }

    /// The simulated clock at real time `now`.
    func simulated(_ now: UInt64) -> UInt64 {
        guard isSimulated else { return now }
        let elapsed = Double(now &- originMilliseconds)
        return startMilliseconds + UInt64(max(0, elapsed * scale))
    }

    /// Real milliseconds for `simulated` milliseconds of the clock.
    func realDuration(_ simulated: UInt64) -> UInt64 {
        UInt64((Double(simulated) / scale).rounded(.up))
    }
}
