import Testing

@testable import Controller

/// When freed memory goes back to the system after a connection storm (issue 13: trimming in
/// the middle of a storm left its tail's garbage, so RSS per link did not reproduce).
@Suite struct ChurnTrimPolicyTests {
    /// Whether each look, given the handshakes ended so far, trims.
    static func trims(_ counts: [Int]) -> [Bool] {
        var policy = ChurnTrimPolicy()
        return counts.map { policy.shouldTrim(handshakesEnded: $0) }
    }

    @Test("a storm is trimmed once, at the first look after it ends, however its tail falls")
    func trimsAfterTheStormSettles() {
        // 5,000 handshakes seen over two looks: 4,500 then 500 more. The rule before trimmed at
        // 4,500 and never after the last 500.
        #expect(Self.trims([4_500, 5_000, 5_000, 5_000, 5_000]) == [false, false, true, false, false])
        // The same storm seen in one look.
        #expect(Self.trims([0, 5_000, 5_000, 5_000]) == [false, false, true, false])
    }

    @Test("a few handshakes (lamps reconnecting one by one) never trim")
    func smallChurnDoesNotTrim() {
        // 300 handshakes in all, every other look quiet: under the threshold.
        let counts = (1...100).flatMap { [3 * $0, 3 * $0] }
        #expect(300 < ChurnTrimPolicy.handshakesPerTrim)
        #expect(!Self.trims(counts).contains(true))
    }

    @Test("a storm that never settles is trimmed every handshakesPerForcedTrim")
    func endlessStormTrimsPeriodically() {
        let counts = (1...100).map { 2_000 * $0 }
        #expect(Self.trims(counts).filter { $0 }.count == 200_000 / ChurnTrimPolicy.handshakesPerForcedTrim)
    }

    @Test("the count wrapping past Int.max does not stop trims")
    func wrapping() {
        let nearEnd = Int.max - 10
        let wrapped = nearEnd &+ 2_000
        // More than handshakesPerForcedTrim since the start: trimmed at the first look.
        #expect(Self.trims([nearEnd, nearEnd, wrapped, wrapped]) == [true, false, false, true])
    }
}
