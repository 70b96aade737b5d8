/// Sixteen opaque bytes: a nonce or a truncated MAC (SPEC.md §4).
///
/// Held as two integers so that decoding one allocates nothing.
public struct Block16: Hashable, Sendable {
    /// Bytes 0 to 7, big-endian.
    public var high: UInt64
    /// Bytes 8 to 15, big-endian.
    public var low: UInt64

    /// A block from its two big-endian halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A block from exactly 16 bytes; nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 {
                high = high << 8 | UInt64(byte)
            } else {
                low = low << 8 | UInt64(byte)
            }
        }
        self.init(high: high, low: low)
    }

    /// The 16 bytes in wire order.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        out.write(self)
        return out
    }

    /// All zero bytes.
    public static let zero = Block16(high: 0, low: 0)
}
