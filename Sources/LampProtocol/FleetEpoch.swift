/// The identity of a controller's database (SPEC.md §5.4, protocol 1.2): 8 random bytes made
/// with the database. The welcome carries it and the lamp echoes the last one it accepted in
/// its hello, so a controller recognises a lamp whose versions came from another database
/// (a lost or replaced one) and sends it its whole desired state again.
public struct FleetEpoch: Hashable, Sendable, CustomStringConvertible {
    /// The 8 bytes as one big-endian integer.
    public var rawValue: UInt64

    /// An epoch from its big-endian value.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// All zero bytes: the lamp has accepted no 1.2 welcome yet.
    public static let none = FleetEpoch(rawValue: 0)

    /// A new random epoch, never ``none``.
    public static func random(using generator: inout some RandomNumberGenerator) -> FleetEpoch {
        FleetEpoch(rawValue: UInt64.random(in: 1...UInt64.max, using: &generator))
    }

    /// Sixteen lower-case hex digits.
    public var description: String {
        let digits = String(rawValue, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// An epoch from 16 hex digits; nil otherwise.
    public init?(hex: String) {
        guard hex.utf8.count == 16, let value = UInt64(hex, radix: 16) else { return nil }
        self.rawValue = value
    }
}
