import NIOCore

/// A server's unmasked WebSocket frame (RFC 6455 §5.2) built in place around its payload: a
/// link writes the bytes of a whole binary message straight to the channel, with no
/// `WebSocketFrame` box and no separate header buffer per message (issue 13).
///
/// The payload is written after ``reserveHeader(_:)``'s room; ``writeHeader(_:payloadStart:)``
/// then fills the header in front of it and moves the reader index to the frame's first byte.
enum ServerFrame {
    /// Room for the longest header used here: two bytes, and two more for a 16-bit length.
    static let headerRoom = 4
    /// The longest payload a frame built here carries (a 16-bit length); the controller's
    /// messages are far shorter (SPEC.md §10).
    static let maximumPayloadBytes = Int(UInt16.max)
    /// FIN and the binary opcode.
    static let finalBinary: UInt8 = 0x82

    /// Reserves the header's room at the end of `buffer`, which must be empty; returns where
    /// the payload starts.
    static func reserveHeader(_ buffer: inout ByteBuffer) -> Int {
        precondition(buffer.readableBytes == 0, "a frame starts in an empty buffer")
        buffer.writeInteger(UInt32(0))
        return buffer.writerIndex
    }

    /// Writes the header of a final binary frame whose payload runs from `payloadStart` to the
    /// writer index, and makes it the buffer's readable start. Returns false (and leaves the
    /// buffer as it was) for a payload over ``maximumPayloadBytes``.
    @discardableResult
    static func writeHeader(_ buffer: inout ByteBuffer, payloadStart: Int) -> Bool {
        let length = buffer.writerIndex - payloadStart
        guard length <= maximumPayloadBytes, payloadStart - headerRoom >= buffer.readerIndex else { return false }
        if length < 126 {
            buffer.setInteger(finalBinary, at: payloadStart - 2)
            buffer.setInteger(UInt8(length), at: payloadStart - 1)
            buffer.moveReaderIndex(to: payloadStart - 2)
        } else {
            buffer.setInteger(finalBinary, at: payloadStart - 4)
            buffer.setInteger(UInt8(126), at: payloadStart - 3)
            buffer.setInteger(UInt16(length), at: payloadStart - 2)
            buffer.moveReaderIndex(to: payloadStart - 4)
        }
        return true
    }
}
