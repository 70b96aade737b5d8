/// Why a message could not be decoded or a value could not be constructed.
///
/// A struct wrapping a private enum so that new cases can be added without breaking
/// callers. Each error says what was wrong (``code``), where (``offset`` in bytes from the
/// start of the message), in which message (``messageType``) and which field, when one
/// applies. The codes are the ones SPEC.md §10 lists and the golden vectors name.
public struct LampProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Kind: UInt8, Hashable, Sendable {
        case empty = 1
        case truncated
        case oversize
        case unknownType
        case outOfRange
        case badLength
        case invalidCharacter
        case trailingBytes
    }

    let kind: Kind
    /// Byte offset, from the start of the message, of the field or byte that was wrong.
    public let offset: Int
    /// The message's type byte, or nil for an empty message.
    public let messageType: UInt8?
    private let fieldName: StaticString?

    init(_ kind: Kind, offset: Int, messageType: UInt8?, field: StaticString?) {
        self.kind = kind
        self.offset = offset
        self.messageType = messageType
        self.fieldName = field
    }

    /// The field that was wrong, as SPEC.md names it, when one applies.
    public var field: String? {
        fieldName.map { $0.description }
    }

    /// The stable error code used in SPEC.md and the vectors: `empty`, `truncated`,
    /// `oversize`, `unknownType`, `outOfRange`, `badLength`, `invalidCharacter`,
    /// `trailingBytes`.
    public var code: String {
        switch kind {
        case .empty: "empty"
        case .truncated: "truncated"
        case .oversize: "oversize"
        case .unknownType: "unknownType"
        case .outOfRange: "outOfRange"
        case .badLength: "badLength"
        case .invalidCharacter: "invalidCharacter"
        case .trailingBytes: "trailingBytes"
        }
    }

    /// A one-line explanation, e.g. `outOfRange: field level of message 0x20 at offset 5`.
    public var description: String {
        var text = code
        if let field {
            text += ": field " + field
        }
        if let messageType {
            text += " of message 0x" + hexByte(messageType)
        }
        text += " at offset " + String(offset)
        return text
    }

    /// Errors are equal when code, offset, message type and field agree.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.kind == rhs.kind && lhs.offset == rhs.offset && lhs.messageType == rhs.messageType
            && lhs.field == rhs.field
    }

    /// Hashes the same parts that equality compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(offset)
        hasher.combine(messageType)
        hasher.combine(field)
    }
}

func hexByte(_ byte: UInt8) -> String {
    let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
    return String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0f)])
}
