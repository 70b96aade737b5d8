/// Lamp to controller, something happened (SPEC.md §7.2). 12 bytes.
///
/// `0x11 | sequence u32 | kind u8 | detail u16 | time u32`
///
/// The controller acknowledges each event by its sequence number; a lamp keeps unacknowledged
/// events (while offline too) and sends them again after the next handshake.
public struct LampEvent: WireMessage {
    static let type = MessageType.event
    /// The lamp's event counter, increasing by one per event (wraps after 2^32 - 1).
    public var sequence: UInt32
    /// What happened.
    public var kind: EventKind
    /// Kind-specific detail: the fault bit index for fault events.
    public var detail: UInt16
    /// When, Unix seconds UTC by the lamp's clock (0: clock not set).
    public var time: UInt32

    /// An event.
    public init(sequence: UInt32, kind: EventKind, detail: UInt16, time: UInt32) {
        self.sequence = sequence
        self.kind = kind
        self.detail = detail
        self.time = time
    }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(sequence)
        sink.write(kind.rawValue)
        sink.write(detail)
        sink.write(time)
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> LampEvent {
        LampEvent(
            sequence: try reader.readUInt32("sequence"),
            kind: EventKind(rawValue: try reader.readUInt8("kind")),
            detail: try reader.readUInt16("detail"),
            time: try reader.readUInt32("time"))
    }
}
