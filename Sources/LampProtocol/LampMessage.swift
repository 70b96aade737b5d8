/// Any protocol v1 message (SPEC.md §3): decode bytes into one, encode one into bytes.
public enum LampMessage: Hashable, Sendable {
    /// Controller to lamp, first message on a link.
    case challenge(Challenge)
    /// Lamp to controller, answers the challenge.
    case hello(Hello)
    /// Controller to lamp, ends the handshake.
    case welcome(Welcome)
    /// A request was carried out.
    case ack(Ack)
    /// A request was refused.
    case nack(Nack)
    /// Lamp status.
    case statusReport(StatusReport)
    /// A lamp event.
    case event(LampEvent)
    /// Manual level.
    case setLevel(SetLevel)
    /// Manual on or off.
    case `switch`(Switch)
    /// A level for a while, then the program.
    case override(Override)
    /// Back to the program.
    case resumeProgram(ResumeProgram)
    /// Lamp configuration.
    case config(Config)
    /// Blink to be found.
    case identify(Identify)
    /// Restart.
    case reboot(Reboot)
    /// A new lamp key (minor 2).
    case rekey(Rekey)
    /// 0x30, C→L.
    case programHeader(ProgramHeader)
    /// 0x31, C→L.
    case programPage(ProgramPage)

    /// The message's type byte.
    public var type: MessageType {
        switch self {
        case .challenge: Challenge.type
        case .hello: Hello.type
        case .welcome: Welcome.type
        case .ack: Ack.type
        case .nack: Nack.type
        case .statusReport: StatusReport.type
        case .event: LampEvent.type
        case .setLevel: SetLevel.type
        case .switch: Switch.type
        case .override: Override.type
        case .resumeProgram: ResumeProgram.type
        case .config: Config.type
        case .identify: Identify.type
        case .reboot: Reboot.type
        case .rekey: Rekey.type
        case .programHeader: ProgramHeader.type
        case .programPage: ProgramPage.type
        }
    }

    /// Appends the message's bytes to `sink`.
    public func encode<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(type.rawValue)
        switch self {
        case .challenge(let message): message.encodeFields(into: &sink)
        case .hello(let message): message.encodeFields(into: &sink)
        case .welcome(let message): message.encodeFields(into: &sink)
        case .ack(let message): message.encodeFields(into: &sink)
        case .nack(let message): message.encodeFields(into: &sink)
        case .statusReport(let message): message.encodeFields(into: &sink)
        case .event(let message): message.encodeFields(into: &sink)
        case .setLevel(let message): message.encodeFields(into: &sink)
        case .switch(let message): message.encodeFields(into: &sink)
        case .override(let message): message.encodeFields(into: &sink)
        case .resumeProgram(let message): message.encodeFields(into: &sink)
        case .config(let message): message.encodeFields(into: &sink)
        case .identify(let message): message.encodeFields(into: &sink)
        case .reboot(let message): message.encodeFields(into: &sink)
        case .rekey(let message): message.encodeFields(into: &sink)
        case .programHeader(let message): message.encodeFields(into: &sink)
        case .programPage(let message): message.encodeFields(into: &sink)
        }
    }

    /// The message's bytes, in one allocation: every message of minor 2 fits in 128 bytes
    /// (the longest, a hello, is 126).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        encode(into: &out)
        return out
    }

    /// Decodes one whole message.
    ///
    /// - Parameters:
    ///   - bytes: exactly one WebSocket message's payload.
    ///   - peerMinorVersion: the minor version the sender announced in its challenge or hello.
    ///     When it is newer than ours, trailing bytes (fields added later) are ignored;
    ///     otherwise they are an error. Challenge and hello carry their own minor version,
    ///     which is used for them instead. It also picks the welcome's layout (§5.3): a
    ///     lamp passes its controller's minor (the welcome has the lower of the two).
    /// - Throws: ``LampProtocolError`` saying what was wrong and at which offset. Decoding
    ///   never traps and allocates at most the strings of a hello or a program header (under
    ///   64 bytes each) and a program page's entry array.
    public static func decode(_ bytes: UnsafeRawBufferPointer, peerMinorVersion: UInt8 = LampProtocolVersion.minor)
        throws(LampProtocolError) -> LampMessage
    {
        guard !bytes.isEmpty else {
            throw LampProtocolError(.empty, offset: 0, messageType: nil, field: nil)
        }
        let typeByte = bytes[0]
        guard bytes.count <= LampProtocolLimits.maximumMessageSize else {
            throw LampProtocolError(
                .oversize, offset: LampProtocolLimits.maximumMessageSize, messageType: typeByte, field: nil)
        }
        var reader = ByteReader(bytes, messageType: typeByte)
        _ = try reader.readUInt8("type")
        let message: LampMessage
        var senderMinor = peerMinorVersion
        switch MessageType(rawValue: typeByte) {
        case .challenge:
            let challenge = try Challenge.decodeFields(from: &reader)
            senderMinor = challenge.minorVersion
            message = .challenge(challenge)
        case .hello:
            let hello = try Hello.decodeFields(from: &reader)
            senderMinor = hello.minorVersion
            message = .hello(hello)
        case .welcome: message = .welcome(try Welcome.decodeFields(from: &reader, minor: peerMinorVersion))
        case .ack: message = .ack(try Ack.decodeFields(from: &reader))
        case .nack: message = .nack(try Nack.decodeFields(from: &reader))
        case .statusReport: message = .statusReport(try StatusReport.decodeFields(from: &reader))
        case .event: message = .event(try LampEvent.decodeFields(from: &reader))
        case .setLevel: message = .setLevel(try SetLevel.decodeFields(from: &reader))
        case .switch: message = .switch(try Switch.decodeFields(from: &reader))
        case .override: message = .override(try Override.decodeFields(from: &reader))
        case .resumeProgram: message = .resumeProgram(try ResumeProgram.decodeFields(from: &reader))
        case .config: message = .config(try Config.decodeFields(from: &reader))
        case .identify: message = .identify(try Identify.decodeFields(from: &reader))
        case .reboot: message = .reboot(try Reboot.decodeFields(from: &reader))
        case .rekey: message = .rekey(try Rekey.decodeFields(from: &reader))
        case .programHeader: message = .programHeader(try ProgramHeader.decodeFields(from: &reader))
        case .programPage: message = .programPage(try ProgramPage.decodeFields(from: &reader))
        default:
            throw LampProtocolError(.unknownType, offset: 0, messageType: typeByte, field: "type")
        }
        try reader.finish(allowTrailingBytes: senderMinor > LampProtocolVersion.minor)
        return message
    }

    /// Decodes one whole message from an array; see ``decode(_:peerMinorVersion:)-(UnsafeRawBufferPointer,_)``.
    public static func decode(_ bytes: [UInt8], peerMinorVersion: UInt8 = LampProtocolVersion.minor)
        throws(LampProtocolError) -> LampMessage
    {
        let result: Result<LampMessage, LampProtocolError> = bytes.withUnsafeBytes { buffer in
            do throws(LampProtocolError) {
                return .success(try decode(buffer, peerMinorVersion: peerMinorVersion))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The reference a receiver puts in its negative acknowledgement of a message it could
    /// not handle: the big-endian u32 at offset 1 when the message is long enough, else 0
    /// (SPEC.md §8.2).
    public static func referenceForNack(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard bytes.count >= 5 else { return 0 }
        var value: UInt32 = 0
        for index in 1...4 {
            value = value << 8 | UInt32(bytes[index])
        }
        return value
    }
}
