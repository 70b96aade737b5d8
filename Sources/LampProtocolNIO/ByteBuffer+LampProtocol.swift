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
    /// The message in a new buffer from `allocator`, with room for the 8-byte frame tag
    /// (SPEC.md §4.3) after every message but a program frame, so sealing does not reallocate.
    public func buffer(_ allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        encode(into: &buffer)
        return buffer
    }

    /// Decodes the readable bytes of `buffer` as one whole message, without copying them.
    public static func decode(_ buffer: ByteBuffer, peerMinorVersion: UInt8) throws(LampProtocolError) -> LampMessage {
        let result: Result<LampMessage, LampProtocolError> = buffer.withUnsafeReadableBytes { bytes in
            do throws(LampProtocolError) {
                return .success(try LampMessage.decode(bytes, peerMinorVersion: peerMinorVersion))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
