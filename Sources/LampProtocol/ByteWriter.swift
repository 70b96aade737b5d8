/// A destination for encoded bytes.
///
/// `[UInt8]` conforms here; the controller's I/O layer conforms its network buffer type,
/// so messages are encoded straight into the buffer that goes on the wire.
public protocol LampByteSink {
    /// Appends one byte.
    mutating func appendWireByte(_ byte: UInt8)
}

extension Array: LampByteSink where Element == UInt8 {
    /// Appends one byte to the array.
    public mutating func appendWireByte(_ byte: UInt8) {
        append(byte)
    }
}

extension LampByteSink {
    mutating func write(_ value: UInt8) {
        appendWireByte(value)
    }

    mutating func write(_ value: Int8) {
        appendWireByte(UInt8(bitPattern: value))
    }

    mutating func write(_ value: UInt16) {
        appendWireByte(UInt8(truncatingIfNeeded: value >> 8))
        appendWireByte(UInt8(truncatingIfNeeded: value))
    }

    mutating func write(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) {
            appendWireByte(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
        }
    }

    mutating func write(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) {
            appendWireByte(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    mutating func write(_ value: Block16) {
        write(value.high)
        write(value.low)
    }

    /// Writes a u8 length prefix and the string's bytes. Callers validated the string when
    /// it was constructed, so its UTF-8 length fits in a byte.
    mutating func writeShortString(_ value: String) {
        write(UInt8(truncatingIfNeeded: value.utf8.count))
        for byte in value.utf8 {
            appendWireByte(byte)
        }
    }
}
