/// How long a lamp takes to move to a new level: 0 to 25.5 s in steps of 0.1 s (SPEC.md §6.3).
///
/// One byte keeps a set-level command at 8 bytes; street lamps fade over a few seconds,
/// and 25.5 s is longer than any fade a lighting operator asks for in practice.
public struct FadeTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The fade in tenths of a second.
    public let deciseconds: UInt8

    /// A fade from tenths of a second; every byte value is valid.
    public init(deciseconds: UInt8) {
        self.deciseconds = deciseconds
    }

    /// A fade from milliseconds; nil above 25,500 ms or when not a multiple of 100 ms.
    public init?(milliseconds: Int) {
        guard milliseconds >= 0, milliseconds <= 25_500, milliseconds % 100 == 0 else { return nil }
        self.deciseconds = UInt8(milliseconds / 100)
    }

    /// The fade in milliseconds.
    public var milliseconds: Int { Int(deciseconds) * 100 }

    /// No fade: change at once.
    public static let immediate = FadeTime(deciseconds: 0)

    /// Orders fades by length.
    public static func < (lhs: FadeTime, rhs: FadeTime) -> Bool { lhs.deciseconds < rhs.deciseconds }

    /// The fade in seconds, e.g. `2.5s`.
    public var description: String {
        String(deciseconds / 10) + "." + String(deciseconds % 10) + "s"
    }
}
