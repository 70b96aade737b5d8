/// Controller to lamp: restart (SPEC.md §8.9). 5 bytes.
///
/// `0x26 | ref u32`
///
/// The lamp acknowledges first, closes the link with code 1000, then restarts and keeps
/// its light at the current level through the restart where the hardware allows.
public struct Reboot: WireMessage {
    static let type = MessageType.reboot
    /// The controller's reference for this request, echoed in the acknowledgement.
    public var ref: UInt32

    /// A reboot request.
    public init(ref: UInt32) {
        self.ref = ref
    }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(ref)
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> Reboot {
        Reboot(ref: try reader.readUInt32("ref"))
    }
}
