/// Controller to lamp: hold a level for a duration, then resume the program by itself
/// (SPEC.md §8.5). 12 bytes.
///
/// `0x22 | version u32 | level u16 | fade u8 | duration u32`
public struct Override: WireMessage {
    static let type = MessageType.override
    /// The control-state version this command establishes.
    public var version: UInt32
    /// The level to hold.
    public var level: Level
    /// How long to take to reach it (and, at expiry, to return to the program).
    public var fade: FadeTime
    /// How long to hold it, seconds, 1...2,592,000 (30 days), counted from receipt.
    public let durationSeconds: UInt32

    /// An override; nil when the duration is outside 1...2,592,000 s.
    public init?(version: UInt32, level: Level, fade: FadeTime, durationSeconds: UInt32) {
        guard durationSeconds >= 1 && durationSeconds <= LampProtocolLimits.maximumOverrideSeconds else { return nil }
        self.version = version
        self.level = level
        self.fade = fade
        self.durationSeconds = durationSeconds
    }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(version)
        sink.write(level.permille)
        sink.write(fade.deciseconds)
        sink.write(durationSeconds)
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> Override {
        let version = try reader.readUInt32("version")
        let level = try reader.readLevel("level")
        let fade = FadeTime(deciseconds: try reader.readUInt8("fade"))
        let durationAt = reader.offset
        let duration = try reader.readUInt32("durationSeconds")
        guard let message = Override(version: version, level: level, fade: fade, durationSeconds: duration) else {
            throw LampProtocolError(.outOfRange, offset: durationAt, messageType: type.rawValue, field: "durationSeconds")
        }
        return message
    }
}
