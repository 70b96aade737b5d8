/// Controller to lamp: switch on (to full, within the configured maximum) or off, and stay
/// (manual mode) (SPEC.md §8.4). 7 bytes.
///
/// `0x21 | version u32 | on u8 (0 or 1) | fade u8`
public struct Switch: WireMessage {
    static let type = MessageType.switch
    /// The control-state version this command establishes.
    public var version: UInt32
    /// On (true) or off.
    public var on: Bool
    /// How long to take.
    public var fade: FadeTime

    /// A switch command.
    public init(version: UInt32, on: Bool, fade: FadeTime) {
        self.version = version
        self.on = on
        self.fade = fade
    }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(version)
        sink.write(UInt8(on ? 1 : 0))
        sink.write(fade.deciseconds)
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> Switch {
        let version = try reader.readUInt32("version")
        let onAt = reader.offset
        let on = try reader.readUInt8("on")
        try reader.check(on <= 1, "on", at: onAt)
        return Switch(version: version, on: on == 1, fade: FadeTime(deciseconds: try reader.readUInt8("fade")))
    }
}
