/// Controller to lamp, the first message on every link (SPEC.md §5.1). 18 bytes.
///
/// `0x01 | minor u8 | serverNonce 16`
public struct Challenge: WireMessage {
    static let type = MessageType.challenge
    /// The controller's protocol minor version.
    public var minorVersion: UInt8
    /// 16 fresh random bytes; the lamp's hello MAC covers them, so a replayed hello fails.
    public var serverNonce: Block16

    /// A challenge.
    public init(minorVersion: UInt8 = LampProtocolVersion.minor, serverNonce: Block16) {
        self.minorVersion = minorVersion
        self.serverNonce = serverNonce
    }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(minorVersion)
        sink.write(serverNonce)
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> Challenge {
        let minor = try reader.readUInt8("minorVersion")
        let nonce = try reader.readBlock16("serverNonce")
        return Challenge(minorVersion: minor, serverNonce: nonce)
    }
}
