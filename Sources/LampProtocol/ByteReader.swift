/// A bounds-checked cursor over one received message.
///
/// Every read checks the remaining length first and throws ``LampProtocolError/truncated``
/// with the offset where bytes ran out; nothing here can trap on short or hostile input.
/// The reader never copies the input: it reads through the caller's buffer, and only
/// lives inside the `withUnsafeBytes` scope that lent it.
struct ByteReader {
    private let bytes: UnsafeRawBufferPointer
    /// Offset of the next byte to read, from the start of the message.
    private(set) var offset: Int
    /// The message type, used to say which message an error belongs to.
    let messageType: UInt8

    init(_ bytes: UnsafeRawBufferPointer, messageType: UInt8) {
        self.bytes = bytes
        self.offset = 0
        self.messageType = messageType
    }

    /// Number of bytes not yet read.
    var remaining: Int { bytes.count - offset }

    mutating func require(_ count: Int, field: StaticString) throws(LampProtocolError) {
        guard remaining >= count else {
            throw LampProtocolError(.truncated, offset: offset, messageType: messageType, field: field)
        }
    }

    mutating func readUInt8(_ field: StaticString) throws(LampProtocolError) -> UInt8 {
        try require(1, field: field)
        let value = bytes[offset]
        offset += 1
        return value
    }

    mutating func readUInt16(_ field: StaticString) throws(LampProtocolError) -> UInt16 {
        try require(2, field: field)
        var value: UInt16 = 0
        for index in 0..<2 {
            value = value << 8 | UInt16(bytes[offset + index])
        }
        offset += 2
        return value
    }

    mutating func readUInt32(_ field: StaticString) throws(LampProtocolError) -> UInt32 {
        try require(4, field: field)
        var value: UInt32 = 0
        for index in 0..<4 {
            value = value << 8 | UInt32(bytes[offset + index])
        }
        offset += 4
        return value
    }

    mutating func readUInt64(_ field: StaticString) throws(LampProtocolError) -> UInt64 {
        try require(8, field: field)
        var value: UInt64 = 0
        for index in 0..<8 {
            value = value << 8 | UInt64(bytes[offset + index])
        }
        offset += 8
        return value
    }

    mutating func readInt8(_ field: StaticString) throws(LampProtocolError) -> Int8 {
        Int8(bitPattern: try readUInt8(field))
    }

    mutating func readBlock16(_ field: StaticString) throws(LampProtocolError) -> Block16 {
        try require(16, field: field)
        let high = try readUInt64(field)
        let low = try readUInt64(field)
        return Block16(high: high, low: low)
    }

    /// Reads a length-prefixed (u8) ASCII string whose length must lie in `lengths` and
    /// whose every byte must satisfy `allowed`. The length is checked before anything it
    /// announces is read, so a hostile length costs nothing.
    mutating func readShortString(
        _ field: StaticString,
        lengths: ClosedRange<Int>,
        allowed: (UInt8) -> Bool
    ) throws(LampProtocolError) -> String {
        let lengthOffset = offset
        let length = Int(try readUInt8(field))
        guard lengths.contains(length) else {
            throw LampProtocolError(.badLength, offset: lengthOffset, messageType: messageType, field: field)
        }
        try require(length, field: field)
        var scalars = ""
        scalars.reserveCapacity(length)
        for index in 0..<length {
            let byte = bytes[offset + index]
            guard allowed(byte) else {
                throw LampProtocolError(.invalidCharacter, offset: offset + index, messageType: messageType, field: field)
            }
            scalars.unicodeScalars.append(Unicode.Scalar(byte))
        }
        offset += length
        return scalars
    }

    /// The bytes a newer minor version added before a message's closing 16-byte tag (SPEC.md
    /// §9): everything between here and the last 16 bytes, kept so that the MAC over them
    /// can be checked. None when fewer than 16 bytes remain (reading the tag then fails).
    mutating func readLaterFields() -> [UInt8] {
        let count = remaining - 16
        guard count > 0 else { return [] }
        let out = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]))
        offset += count
        return out
    }

    /// Fails with `outOfRange` (at `fieldOffset`) unless `condition` holds.
    func check(_ condition: Bool, _ field: StaticString, at fieldOffset: Int) throws(LampProtocolError) {
        guard condition else {
            throw LampProtocolError(.outOfRange, offset: fieldOffset, messageType: messageType, field: field)
        }
    }

    /// Ends a message: leftover bytes are an error unless the sender speaks a newer minor
    /// version, which may append fields (SPEC.md §9 "Forward compatibility").
    func finish(allowTrailingBytes: Bool) throws(LampProtocolError) {
        if remaining > 0 && !allowTrailingBytes {
            throw LampProtocolError(.trailingBytes, offset: offset, messageType: messageType, field: nil)
        }
    }
}
