import Testing

@testable import LampAuth

/// The compression on the CPU's SHA instructions against the one in Swift: the same state
/// after every block, over random blocks and states. The frame-tag vectors of
/// AuthVectorTests and HMACSHA256Tests run on whichever this machine uses.
@Suite("SHA-256 on the CPU's SHA instructions")
struct SHA256HardwareTests {
    @Test("hardware and Swift compressions agree on 10,000 random blocks and states")
    func agree() throws {
        guard SHA256Stream.usesHardware else {
            // Nothing to compare on a CPU without the instructions (the Swift one is in use).
            return
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<10_000 {
            var state: SHA256Stream.Words = (
                generator.next(), generator.next(), generator.next(), generator.next(), generator.next(), generator.next(),
                generator.next(), generator.next()
            )
            let block = (0..<64).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var hardware = state
            block.withUnsafeBytes { SHA256Stream.hardwareCompress(&hardware, $0) }
            block.withUnsafeBytes { SHA256Stream.softwareCompress(&state, $0) }
            #expect(withUnsafeBytes(of: hardware) { Array($0) } == withUnsafeBytes(of: state) { Array($0) })
        }
    }
}
