import LampProtocol
import NIOCore

/// Messages are encoded straight into the buffer that goes on the wire.
extension ByteBuffer: LampByteSink {
    /// Appends one byte.
    public mutating func appendWireByte(_ byte: UInt8) {
        writeInteger(byte)
    }
}

extension LampMessage {
    /// The message in a new buffer from `allocator`.
    func buffer(_ allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 32)
        encode(into: &buffer)
        return buffer
    }
}
