/// Either direction: a request was refused, with a reason (SPEC.md §8.2). 7 bytes.
///
/// `0x05 | ackedType u8 | ref u32 | reason u8`
public struct Nack: WireMessage {
    static let type = MessageType.nack
    /// The type of the message refused (for an unknown type, that type).
    public var ackedType: MessageType
    /// The refused message's reference (0 when it had none or was too short to carry one).
    public var ref: UInt32
    /// Why it was refused.
    public var reason: NackReason

    /// A negative acknowledgement.
    public init(ackedType: MessageType, ref: UInt32, reason: NackReason) {
        self.ackedType = ackedType
        self.ref = ref
        self.reason = reason
    }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(ackedType.rawValue)
        sink.write(ref)
        sink.write(reason.rawValue)
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> Nack {
        Nack(
            ackedType: MessageType(rawValue: try reader.readUInt8("ackedType")),
            ref: try reader.readUInt32("ref"),
            reason: NackReason(rawValue: try reader.readUInt8("reason")))
    }
}
