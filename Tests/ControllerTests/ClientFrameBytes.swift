import Testing
import NIOCore
import NIOEmbedded
import NIOWebSocket

/// A lamp's frame as the bytes on the wire, made by NIO's own encoder (not by the parser under
/// test), masked with `key`: the link handler reads bytes, not decoded frames.
func clientFrameBytes(
    _ payload: [UInt8], opcode: WebSocketOpcode = .binary, fin: Bool = true, key: WebSocketMaskingKey = WebSocketMaskingKey([1, 2, 3, 4])!
) throws -> ByteBuffer {
    let channel = EmbeddedChannel(handler: WebSocketFrameEncoder())
    defer { _ = try? channel.finish() }
    let data = channel.allocator.buffer(bytes: payload)
    try channel.writeOutbound(WebSocketFrame(fin: fin, opcode: opcode, maskKey: key, data: data))
    var bytes = channel.allocator.buffer(capacity: payload.count + 14)
    while var part = try channel.readOutbound(as: ByteBuffer.self) {
        bytes.writeBuffer(&part)
    }
    return bytes
}

/// The frames the controller wrote on `channel`, read by NIO's own decoder (not by the code
/// under test): the link writes whole frames as bytes, with no encoder in its pipeline.
func serverFrames(_ channel: EmbeddedChannel) throws -> [WebSocketFrame] {
    var written: [ByteBuffer] = []
    while let buffer = try channel.readOutbound(as: ByteBuffer.self) { written.append(buffer) }
    return try decodeServerFrames(written)
}

/// The frames in `written`, in order; bytes left over that make no whole frame are an error.
func decodeServerFrames(_ written: [ByteBuffer]) throws -> [WebSocketFrame] {
    let decoder = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 16)))
    defer { _ = try? decoder.finish() }
    var frames: [WebSocketFrame] = []
    for buffer in written {
        try decoder.writeInbound(buffer)
        while let frame = try decoder.readInbound(as: WebSocketFrame.self) {
            #expect(frame.maskKey == nil, "a server frame is never masked")
            frames.append(frame)
        }
    }
    return frames
}
