/// Lamp to controller, answers the challenge (SPEC.md §5.2). 56 to 118 bytes.
///
/// `0x02 | minor u8 | idLen u8 | id | fwLen u8 | firmware | capabilities u16 |
///  appliedVersion u32 | configVersion u32 | programRevision u32 | clock u32 |
///  clientNonce 16 | mac 16`
public struct Hello: WireMessage {
    static let type = MessageType.hello
    /// The lamp's protocol minor version.
    public var minorVersion: UInt8
    /// Who the lamp says it is; the MAC proves it.
    public var lampID: LampID
    /// The firmware label.
    public var firmware: FirmwareVersion
    /// What the lamp can do.
    public var capabilities: Capabilities
    /// The control-state version the lamp has applied (0: none yet).
    public var appliedVersion: UInt32
    /// The config version the lamp has applied (0: none yet).
    public var configVersion: UInt32
    /// The program revision the lamp holds (0: none).
    public var programRevision: UInt32
    /// The lamp's clock, Unix seconds UTC (0: not set).
    public var clock: UInt32
    /// 16 fresh random bytes chosen by the lamp; the welcome's proof covers them.
    public var clientNonce: Block16
    /// The first 16 bytes of HMAC-SHA256(lamp key, hello transcript), SPEC.md §4.
    public var mac: Block16

    /// A hello.
    public init(
        minorVersion: UInt8 = LampProtocolVersion.minor, lampID: LampID, firmware: FirmwareVersion,
        capabilities: Capabilities, appliedVersion: UInt32, configVersion: UInt32, programRevision: UInt32,
        clock: UInt32, clientNonce: Block16, mac: Block16
    ) {
        self.minorVersion = minorVersion
        self.lampID = lampID
        self.firmware = firmware
        self.capabilities = capabilities
        self.appliedVersion = appliedVersion
        self.configVersion = configVersion
        self.programRevision = programRevision
        self.clock = clock
        self.clientNonce = clientNonce
        self.mac = mac
    }

    /// Writes everything the MAC covers: the whole message but the MAC itself.
    func encodeSignedPart<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(Hello.type.rawValue)
        encodeSignedFields(into: &sink)
    }

    private func encodeSignedFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(minorVersion)
        sink.writeShortString(lampID.value)
        sink.writeShortString(firmware.value)
        sink.write(capabilities.rawValue)
        sink.write(appliedVersion)
        sink.write(configVersion)
        sink.write(programRevision)
        sink.write(clock)
        sink.write(clientNonce)
    }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        encodeSignedFields(into: &sink)
        sink.write(mac)
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> Hello {
        let minor = try reader.readUInt8("minorVersion")
        let id = try reader.readShortString("lampID", lengths: LampID.lengths, allowed: LampID.isAllowed)
        let firmware = try reader.readShortString(
            "firmware", lengths: FirmwareVersion.lengths, allowed: FirmwareVersion.isAllowed)
        let hello = Hello(
            minorVersion: minor,
            lampID: LampID(validated: id),
            firmware: FirmwareVersion(validated: firmware),
            capabilities: Capabilities(rawValue: try reader.readUInt16("capabilities")),
            appliedVersion: try reader.readUInt32("appliedVersion"),
            configVersion: try reader.readUInt32("configVersion"),
            programRevision: try reader.readUInt32("programRevision"),
            clock: try reader.readUInt32("clock"),
            clientNonce: try reader.readBlock16("clientNonce"),
            mac: try reader.readBlock16("mac"))
        return hello
    }
}
