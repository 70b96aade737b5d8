/// Either direction: a request was carried out (SPEC.md §8.1). 6 bytes.
///
/// `0x04 | ackedType u8 | ref u32`
///
/// For a control or config message, "carried out" means applied and its version stored:
/// `ref` is then the version the lamp now reports as applied.
public struct Ack: WireMessage {
    static let type = MessageType.ack
    /// The type of the message acknowledged.
    public var ackedType: MessageType
    /// The acknowledged message's reference (version, command reference or event sequence).
    public var ref: UInt32

    /// An acknowledgement.
    public init(ackedType: MessageType, ref: UInt32) {
        self.ackedType = ackedType
        self.ref = ref
    }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(ackedType.rawValue)
        sink.write(ref)
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> Ack {
        Ack(ackedType: MessageType(rawValue: try reader.readUInt8("ackedType")), ref: try reader.readUInt32("ref"))
    }
}
