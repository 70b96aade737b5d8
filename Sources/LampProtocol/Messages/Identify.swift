/// Controller to lamp: blink so a crew can find it (SPEC.md §8.8). 7 bytes.
///
/// `0x25 | ref u32 | duration u16`
public struct Identify: WireMessage {
    static let type = MessageType.identify
    /// The controller's reference for this request, echoed in the acknowledgement.
    public var ref: UInt32
    /// How long to blink, seconds, 1...600; then the lamp returns to its state.
    public let durationSeconds: UInt16

    /// An identify request; nil when the duration is outside 1...600 s.
    public init?(ref: UInt32, durationSeconds: UInt16) {
        guard durationSeconds >= 1 && durationSeconds <= LampProtocolLimits.maximumIdentifySeconds else { return nil }
        self.ref = ref
        self.durationSeconds = durationSeconds
    }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(ref)
        sink.write(durationSeconds)
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> Identify {
        let ref = try reader.readUInt32("ref")
        let durationAt = reader.offset
        let duration = try reader.readUInt16("durationSeconds")
        guard let message = Identify(ref: ref, durationSeconds: duration) else {
            throw LampProtocolError(.outOfRange, offset: durationAt, messageType: type.rawValue, field: "durationSeconds")
        }
        return message
    }
}
