import NIOCore
import NIOWebSocket

/// One frame a lamp sent (RFC 6455 §5.2), its payload still masked: a slice of the bytes read.
struct ClientFrame {
    var fin: Bool
    var opcode: WebSocketOpcode
    /// The masking key as it stood on the wire (RFC 6455 §5.3), first byte highest.
    var maskKey: UInt32
    var payload: ByteBuffer

}

/// Reads a lamp's WebSocket frames straight from the bytes the socket delivered, in the link
/// handler itself: no `WebSocketFrame` box and no decoder handler per link (issue 13), with
/// the rules NIO's decoder and the strict checks of issue 12 applied, in the same order.
enum ClientFrameParser {
    /// What the next bytes hold.
    enum Next {
        /// A whole frame, consumed from the buffer.
        case frame(ClientFrame)
        /// Not a whole frame yet: nothing was consumed.
        case needMore
        /// The frame breaks a rule: close the link.
        case refused(Refusal)
    }

    /// Why a frame is refused.
    enum Refusal: Equatable {
        /// Its payload is over the limit (SPEC.md §10).
        case tooLong
        /// A control frame fragmented or longer than 125 bytes (RFC 6455 §5.5).
        case invalidControl
        /// RSV bits, a reserved opcode or an unmasked frame (RFC 6455 §5.2, §5.3): the reason.
        case violation(String)
    }

    /// The next frame in `buffer`, whose payload may be at most `maximumPayloadBytes`. The
    /// length is judged as soon as the header shows it, before the payload arrives.
    static func next(_ buffer: inout ByteBuffer, maximumPayloadBytes: Int) -> Next {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self),
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)
        else { return .needMore }
        guard let (keyAt, length) = ClientFrameHeaders.lengths({ buffer.getInteger(at: start + $0, as: UInt8.self) }) else {
            return .needMore
        }
        guard length <= UInt64(maximumPayloadBytes) else { return .refused(.tooLong) }
        let fin = first & 0x80 != 0
        if first & 0x08 != 0 && (!fin || length > 125) { return .refused(.invalidControl) }
        if let violation = ClientFrameHeaders.violation(first, second) { return .refused(.violation(violation)) }
        guard let key = buffer.getInteger(at: start + keyAt, as: UInt32.self),
            buffer.readableBytes >= keyAt + 4 + Int(length)
        else { return .needMore }
        buffer.moveReaderIndex(forwardBy: keyAt + 4)
        // The length was checked against the buffer just above.
        let payload = buffer.readSlice(length: Int(length))!
        return .frame(
            ClientFrame(
                fin: fin, opcode: WebSocketOpcode(encodedWebSocketOpcode: first & 0x0F)!,
                maskKey: key, payload: payload))
    }
}
