/// Controller to lamp: end any manual level or override and follow the program
/// (SPEC.md §8.6). 6 bytes.
///
/// `0x23 | version u32 | fade u8`
public struct ResumeProgram: WireMessage {
    static let type = MessageType.resumeProgram
    /// The control-state version this command establishes.
    public var version: UInt32
    /// How long to take to reach the program's level.
    public var fade: FadeTime

    /// A resume-program command.
    public init(version: UInt32, fade: FadeTime) {
        self.version = version
        self.fade = fade
    }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(version)
        sink.write(fade.deciseconds)
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> ResumeProgram {
        ResumeProgram(version: try reader.readUInt32("version"), fade: FadeTime(deciseconds: try reader.readUInt8("fade")))
    }
}
