import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import Controller

/// The frames a link builds around its messages, read back by NIO's own WebSocket decoder: a
/// header of the wrong length or form would be a frame no lamp could parse.
@Suite("Server frames")
struct ServerFrameTests {
    /// Builds a frame around `length` bytes and decodes it with NIO's decoder.
    static func roundTrip(_ length: Int) throws -> WebSocketFrame? {
        var buffer = ByteBufferAllocator().buffer(capacity: 16)
        let start = ServerFrame.reserveHeader(&buffer)
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        buffer.writeBytes(payload)
        #expect(ServerFrame.writeHeader(&buffer, payloadStart: start))
        #expect(buffer.readableBytes == length + (length < 126 ? 2 : 4))
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 17)))
        try channel.writeInbound(buffer)
        let frame = try channel.readInbound(as: WebSocketFrame.self)
        #expect(try channel.readInbound(as: WebSocketFrame.self) == nil, "one frame, no bytes left over")
        if let frame {
            #expect(frame.fin && frame.opcode == .binary && frame.maskKey == nil)
            #expect(Array(frame.data.readableBytesView) == payload)
        }
        _ = try channel.finish()
        return frame
    }

    @Test("every length form up to the 16-bit limit decodes as one final binary frame", arguments: [0, 1, 125, 126, 127, 1_000, 65_535])
    func lengths(length: Int) throws {
        #expect(try ServerFrameTests.roundTrip(length) != nil)
    }

    @Test("a payload over the 16-bit length is refused and the buffer left as it was")
    func tooLong() {
        var buffer = ByteBufferAllocator().buffer(capacity: 16)
        let start = ServerFrame.reserveHeader(&buffer)
        buffer.writeRepeatingByte(1, count: ServerFrame.maximumPayloadBytes + 1)
        let before = buffer
        #expect(!ServerFrame.writeHeader(&buffer, payloadStart: start))
        #expect(buffer == before)
    }
}
