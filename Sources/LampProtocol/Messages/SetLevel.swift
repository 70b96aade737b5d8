/// Controller to lamp: go to a level and stay there (manual mode) (SPEC.md §8.3). 8 bytes.
///
/// `0x20 | version u32 | level u16 | fade u8`
public struct SetLevel: WireMessage {
    static let type = MessageType.setLevel
    /// The control-state version this command establishes.
    public var version: UInt32
    /// The level to go to.
    public var level: Level
    /// How long to take.
    public var fade: FadeTime

    /// A set-level command.
    public init(version: UInt32, level: Level, fade: FadeTime) {
        self.version = version
        self.level = level
        self.fade = fade
    }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(version)
        sink.write(level.permille)
        sink.write(fade.deciseconds)
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> SetLevel {
        SetLevel(
            version: try reader.readUInt32("version"),
            level: try reader.readLevel("level"),
            fade: FadeTime(deciseconds: try reader.readUInt8("fade")))
    }
}
