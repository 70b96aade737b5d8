import NIOCore

/// A final binary WebSocket frame (RFC 6455 §5.2) built in place around its payload: the link
/// writes the bytes of a whole message straight to the channel, with no `WebSocketFrame` box,
/// no separate header buffer and no masking copy per message (issue 13). The controller's
/// frames are unmasked; a lamp's (the simulator's) carry a masking key and a masked payload.
///
/// The payload is written after ``reserveHeader(_:)``'s room; ``finish(_:payloadStart:maskKey:)``
/// then masks it if asked, fills the header in front of it and moves the reader index to the
/// frame's first byte.
public enum FrameBytes {
    /// Room for the longest header used here: two bytes, two more for a 16-bit length and
    /// four for a masking key.
    public static let headerRoom = 8
    /// The longest payload a frame built here carries (a 16-bit length); the protocol's
    /// messages are far shorter (SPEC.md §10).
    public static let maximumPayloadBytes = Int(UInt16.max)

    /// Reserves the header's room at the end of `buffer`, which must be empty; returns where
    /// the payload starts.
    public static func reserveHeader(_ buffer: inout ByteBuffer) -> Int {
        precondition(buffer.readableBytes == 0, "a frame starts in an empty buffer")
        return reserveHeaderRoom(&buffer)
    }

    /// Reserves the header's room at the writer index of a buffer that may already hold
    /// frames (several links' frames built into one buffer); returns where the payload starts.
    public static func reserveHeaderRoom(_ buffer: inout ByteBuffer) -> Int {
        buffer.writeInteger(UInt64(0))
        return buffer.writerIndex
    }

    /// Completes the frame whose payload runs from `payloadStart` to the writer index: masks
    /// the payload with `maskKey` (first byte highest) if there is one, writes the header and
    /// makes it the buffer's readable start. Returns false (and leaves the buffer as it was)
    /// for a payload over ``maximumPayloadBytes``.
    @discardableResult
    public static func finish(_ buffer: inout ByteBuffer, payloadStart: Int, maskKey: UInt32? = nil) -> Bool {
        guard payloadStart - headerRoom >= buffer.readerIndex,
            let start = writeHeader(&buffer, payloadStart: payloadStart, maskKey: maskKey)
        else { return false }
        buffer.moveReaderIndex(to: start)
        return true
    }

    /// Masks the payload from `payloadStart` to the writer index if asked and writes the
    /// header of a final frame of `opcode` (binary unless said; close 0x8, ping 0x9, pong 0xA)
    /// into the room in front of it; returns the frame's first index (the reader
    /// index does not move), or nil for a payload over ``maximumPayloadBytes`` or without
    /// the room of ``reserveHeaderRoom(_:)``.
    public static func writeHeader(_ buffer: inout ByteBuffer, payloadStart: Int, maskKey: UInt32? = nil, opcode: UInt8 = 0x2) -> Int? {
        let length = buffer.writerIndex - payloadStart
        guard length <= maximumPayloadBytes, payloadStart - headerRoom >= 0, payloadStart >= buffer.readerIndex else { return nil }
        var start = payloadStart
        if let maskKey {
            let offset = payloadStart - buffer.readerIndex
            buffer.withUnsafeMutableReadableBytes { bytes in
                mask(UnsafeMutableRawBufferPointer(rebasing: bytes[offset...]), key: maskKey)
            }
            start -= 4
            buffer.setInteger(maskKey, at: start)
        }
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        let first = 0x80 | (opcode & 0x0F)
        if length < 126 {
            start -= 2
            buffer.setInteger(first, at: start)
            buffer.setInteger(maskBit | UInt8(length), at: start + 1)
        } else {
            start -= 4
            buffer.setInteger(first, at: start)
            buffer.setInteger(maskBit | 126, at: start + 1)
            buffer.setInteger(UInt16(length), at: start + 2)
        }
        return start
    }

    /// XORs `bytes` with `key` (RFC 6455 §5.3), from the payload's first byte: masks and
    /// unmasks alike.
    public static func mask(_ bytes: UnsafeMutableRawBufferPointer, key: UInt32) {
        for index in bytes.indices {
            bytes[index] ^= UInt8(truncatingIfNeeded: key >> (24 - 8 * (index & 3)))
        }
    }
}
