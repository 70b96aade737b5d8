import FleetCore
import Testing

@Suite("Reconnect backoff")
struct BackoffTests {
    struct Fixed: RandomNumberGenerator {
        var value: UInt64
        mutating func next() -> UInt64 { value }
    }

    @Test("waits double from the minimum, stay within minimum plus jitter, stop at the cap, reset on success")
    func doubling() {
        var backoff = Backoff(minimumMilliseconds: 1000, jitterMilliseconds: 500, capMilliseconds: 10_000)
        var rng = SystemRandomNumberGenerator()
        var delays: [UInt64] = []
        for _ in 0..<8 { delays.append(backoff.nextDelay(using: &rng)) }
        for (attempt, delay) in delays.enumerated() {
            let base = min(UInt64(10_000), 1000 << UInt64(attempt))
            #expect(delay >= base && delay <= min(10_000, base + 500), "attempt \(attempt): \(delay)")
        }
        #expect(delays.last == 10_000)
        backoff.reset()
        #expect(backoff.nextDelay(using: &rng) <= 1500)
    }

    @Test("jitter spreads a fleet: 1,000 lamps' first waits are not all equal")
    func spread() {
        var rng = SystemRandomNumberGenerator()
        let firsts = Set((0..<1000).map { _ in
            var backoff = Backoff()
            return backoff.nextDelay(using: &rng) / 100
        })
        #expect(firsts.count > 30)
    }
}
