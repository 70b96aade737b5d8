import LampProtocolNIO
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

/// The frames the controller and the simulator build around their messages, read back by NIO's
/// own WebSocket decoder: a header of the wrong length or form, or a wrong mask, would be a
/// frame no peer could parse.
@Suite("Frame bytes")
struct FrameBytesTests {
    /// Builds a frame around `length` bytes (masked with `key` if given) and decodes it with
    /// NIO's decoder.
    static func roundTrip(_ length: Int, key: UInt32?) throws {
        var buffer = ByteBufferAllocator().buffer(capacity: 16)
        let start = FrameBytes.reserveHeader(&buffer)
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        buffer.writeBytes(payload)
        #expect(FrameBytes.finish(&buffer, payloadStart: start, maskKey: key))
        #expect(buffer.readableBytes == length + (length < 126 ? 2 : 4) + (key == nil ? 0 : 4))
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 17)))
        defer { _ = try? channel.finish() }
        try channel.writeInbound(buffer)
        let frame = try #require(try channel.readInbound(as: WebSocketFrame.self))
        #expect(try channel.readInbound(as: WebSocketFrame.self) == nil, "one frame, no bytes left over")
        #expect(frame.fin && frame.opcode == .binary)
        if let key {
            let expected = WebSocketMaskingKey([UInt8(key >> 24), UInt8(key >> 16 & 0xFF), UInt8(key >> 8 & 0xFF), UInt8(key & 0xFF)])
            #expect(frame.maskKey == expected)
        } else {
            #expect(frame.maskKey == nil)
        }
        #expect(Array(frame.unmaskedData.readableBytesView) == payload)
    }

    @Test("every length form up to the 16-bit limit decodes as one final binary frame", arguments: [0, 1, 125, 126, 127, 1_000, 65_535])
    func lengths(length: Int) throws {
        try FrameBytesTests.roundTrip(length, key: nil)
    }

    @Test("a masked frame carries its key and a payload NIO unmasks back", arguments: [0, 5, 125, 126, 1_000])
    func masked(length: Int) throws {
        try FrameBytesTests.roundTrip(length, key: 0xA1B2_C3D4)
    }

    @Test("several frames built back to back in one buffer each decode alone from their slice")
    func backToBack() throws {
        var slab = ByteBufferAllocator().buffer(capacity: 64)
        var slices: [(start: Int, end: Int, payload: [UInt8])] = []
        for length in [3, 125, 126, 40] {
            let payloadStart = FrameBytes.reserveHeaderRoom(&slab)
            let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &+ length) }
            slab.writeBytes(payload)
            let start = try #require(FrameBytes.writeHeader(&slab, payloadStart: payloadStart))
            slices.append((start, slab.writerIndex, payload))
        }
        #expect(slab.readerIndex == 0, "building frames never moves the reader index")
        for slice in slices {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 17)))
            defer { _ = try? channel.finish() }
            try channel.writeInbound(try #require(slab.getSlice(at: slice.start, length: slice.end - slice.start)))
            let frame = try #require(try channel.readInbound(as: WebSocketFrame.self))
            #expect(try channel.readInbound(as: WebSocketFrame.self) == nil, "one frame, no bytes left over")
            #expect(frame.fin && frame.opcode == .binary && Array(frame.unmaskedData.readableBytesView) == slice.payload)
        }
    }

    @Test("a payload over the 16-bit length is refused and the buffer left as it was")
    func tooLong() {
        var buffer = ByteBufferAllocator().buffer(capacity: 16)
        let start = FrameBytes.reserveHeader(&buffer)
        buffer.writeRepeatingByte(1, count: FrameBytes.maximumPayloadBytes + 1)
        let before = buffer
        #expect(!FrameBytes.finish(&buffer, payloadStart: start, maskKey: 7))
        #expect(buffer == before)
    }
}
