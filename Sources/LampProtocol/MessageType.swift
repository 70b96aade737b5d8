/// The first byte of every message (SPEC.md §3).
///
/// A struct rather than an enum so that a type this version does not know is data the
/// receiver can answer with a negative acknowledgement, not a crash.
public struct MessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The wire value.
    public let rawValue: UInt8
    /// A type from its wire value; every value is representable.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Controller to lamp, first message on a new link.
    public static let challenge = MessageType(rawValue: 0x01)
    /// Lamp to controller, answers the challenge.
    public static let hello = MessageType(rawValue: 0x02)
    /// Controller to lamp, ends a successful handshake.
    public static let welcome = MessageType(rawValue: 0x03)
    /// Either direction, positive acknowledgement.
    public static let ack = MessageType(rawValue: 0x04)
    /// Either direction, negative acknowledgement.
    public static let nack = MessageType(rawValue: 0x05)
    /// Lamp to controller, periodic status.
    public static let statusReport = MessageType(rawValue: 0x10)
    /// Lamp to controller, an event to be acknowledged.
    public static let event = MessageType(rawValue: 0x11)
    /// Controller to lamp, manual level.
    public static let setLevel = MessageType(rawValue: 0x20)
    /// Controller to lamp, manual on or off.
    public static let `switch` = MessageType(rawValue: 0x21)
    /// Controller to lamp, a level for a while, then the program.
    public static let override = MessageType(rawValue: 0x22)
    /// Controller to lamp, back to the program.
    public static let resumeProgram = MessageType(rawValue: 0x23)
    /// Controller to lamp, configuration.
    public static let config = MessageType(rawValue: 0x24)
    /// Controller to lamp, blink to be found.
    public static let identify = MessageType(rawValue: 0x25)
    /// Controller to lamp, restart.
    public static let reboot = MessageType(rawValue: 0x26)
    /// Controller to lamp, a new lamp key (minor 2, authenticated links only).
    public static let rekey = MessageType(rawValue: 0x27)

    /// Controller to lamp, the first frame of a lighting program (minor version 1).
    public static let programHeader = MessageType(rawValue: 0x30)
    /// Controller to lamp, a page of a lighting program's entries (minor version 1).
    public static let programPage = MessageType(rawValue: 0x31)

    /// The range for lighting-program frames; 0x32...0x3F are reserved.
    public static let reservedForPrograms: ClosedRange<UInt8> = 0x30...0x3f

    /// The type's name, or `0xNN` for a type this version does not know.
    public var description: String {
        switch rawValue {
        case 0x01: "challenge"
        case 0x02: "hello"
        case 0x03: "welcome"
        case 0x04: "ack"
        case 0x05: "nack"
        case 0x10: "statusReport"
        case 0x11: "event"
        case 0x20: "setLevel"
        case 0x21: "switch"
        case 0x22: "override"
        case 0x23: "resumeProgram"
        case 0x24: "config"
        case 0x25: "identify"
        case 0x26: "reboot"
        case 0x27: "rekey"
        case 0x30: "programHeader"
        case 0x31: "programPage"
        default: "0x" + hexByte(rawValue)
        }
    }
}

/// What every message type implements: its type byte and its fields after that byte.
protocol WireMessage: Hashable, Sendable {
    static var type: MessageType { get }
    /// Writes the fields that follow the type byte.
    func encodeFields<Sink: LampByteSink>(into sink: inout Sink)
    /// Reads the fields that follow the type byte; the reader stands just after it.
    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> Self
}

extension ByteReader {
    /// Reads a level field (u16, 0...1000).
    mutating func readLevel(_ field: StaticString) throws(LampProtocolError) -> Level {
        let at = offset
        let raw = try readUInt16(field)
        try check(raw <= Level.maximum, field, at: at)
        return Level(unchecked: raw)
    }
}
