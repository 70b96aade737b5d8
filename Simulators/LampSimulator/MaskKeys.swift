import NIOWebSocket

/// Masking keys for the simulator's client frames (RFC 6455 §5.3).
///
/// `WebSocketMaskingKey.random()` asks the system generator, which on Linux is one `getrandom`
/// system call per frame: a large share of the simulator's CPU in status bursts. Masking
/// exists to stop cache poisoning through proxies, not to keep secrets, so each event loop's
/// fleet draws keys from a SplitMix64 seeded once from the system generator: keys no peer can
/// predict without the seed, and no system call per frame.
struct MaskKeys: RandomNumberGenerator {
    private var state: UInt64

    /// A source seeded from the system's secure generator.
    init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    /// The next 64 random bits (SplitMix64).
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next masking key.
    mutating func nextKey() -> WebSocketMaskingKey {
        .random(using: &self)
    }
}
