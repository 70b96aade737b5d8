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
