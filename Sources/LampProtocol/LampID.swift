/// A lamp's identity: 1 to 32 ASCII characters from `A-Z a-z 0-9 . _ -` (SPEC.md §5.2).
///
/// The restricted alphabet keeps ids safe in URLs, file names, logs and SQL, and makes
/// the key derivation input unambiguous.
public struct LampID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The id as text.
    public let value: String

    /// The shortest and longest allowed ids, in bytes.
    public static let lengths: ClosedRange<Int> = 1...32

    /// An id from text; nil when empty, longer than 32 bytes or using other characters.
    public init?(_ value: String) {
        guard LampID.lengths.contains(value.utf8.count),
            value.utf8.allSatisfy(LampID.isAllowed)
        else { return nil }
        self.value = value
    }

    init(validated value: String) {
        self.value = value
    }

    /// Whether a byte may appear in a lamp id.
    public static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    /// Orders ids by their text.
    public static func < (lhs: LampID, rhs: LampID) -> Bool { lhs.value < rhs.value }

    /// The id as text.
    public var description: String { value }
}

/// A firmware version label: 1 to 32 printable ASCII bytes (0x20 to 0x7E), e.g. `2.4.1`.
public struct FirmwareVersion: Hashable, Sendable, CustomStringConvertible {
    /// The label.
    public let value: String

    /// The shortest and longest allowed labels, in bytes.
    public static let lengths: ClosedRange<Int> = 1...32

    /// A label from text; nil when empty, too long or not printable ASCII.
    public init?(_ value: String) {
        guard FirmwareVersion.lengths.contains(value.utf8.count),
            value.utf8.allSatisfy(FirmwareVersion.isAllowed)
        else { return nil }
        self.value = value
    }

    init(validated value: String) {
        self.value = value
    }

    /// Whether a byte may appear in a firmware label.
    public static func isAllowed(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte <= 0x7e
    }

    /// The label.
    public var description: String { value }
}
