/// A light level: 0 to 1000 in steps of 0.1 % of the lamp's full light output (SPEC.md §6).
///
/// The scale is linear in light output because that is what operators reason in ("dim to
/// 30 %"), and it is finer than DALI everywhere above 4 % (DALI's top step is 2.8 %).
/// ``daliArcPower`` and ``init(daliArcPower:)`` convert to and from DALI arc power.
public struct Level: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The level in tenths of a percent, 0...1000.
    public let permille: UInt16

    /// The largest level, 100 %.
    public static let maximum: UInt16 = 1000
    /// Off.
    public static let off = Level(unchecked: 0)
    /// Full light output.
    public static let full = Level(unchecked: 1000)

    /// A level from tenths of a percent; nil outside 0...1000.
    public init?(permille: Int) {
        guard permille >= 0 && permille <= Int(Level.maximum) else { return nil }
        self.permille = UInt16(permille)
    }

    init(unchecked permille: UInt16) {
        self.permille = permille
    }

    /// True for any level above zero.
    public var isOn: Bool { permille > 0 }

    /// Orders levels by light output.
    public static func < (lhs: Level, rhs: Level) -> Bool { lhs.permille < rhs.permille }

    /// The level as a percentage, e.g. `30.5%`.
    public var description: String {
        String(permille / 10) + "." + String(permille % 10) + "%"
    }
}
