/// Lamp to controller, answers the challenge (SPEC.md §5.2). Minor 0 and 1: 56 to 118 bytes;
/// minor 2: 64 to 126 bytes; a later minor may add fields before the MAC.
///
/// `0x02 | minor u8 | idLen u8 | id | fwLen u8 | firmware | capabilities u16 |
///  appliedVersion u32 | configVersion u32 | programRevision u32 | clock u32 |
///  clientNonce 16 | fleetEpoch 8 (minor ≥ 2) | later fields (minor > 2) | mac 16`
///
/// The MAC is always the last 16 bytes and covers every byte before it (SPEC.md §4.2), so
/// fields a newer minor adds are authenticated too.
public struct Hello: WireMessage {
    static let type = MessageType.hello
    /// The minor version from which the hello carries ``fleetEpoch``.
    public static let fleetEpochMinorVersion: UInt8 = 2
    /// The lamp's protocol minor version; it decides the layout.
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
    /// The epoch of the last welcome the lamp accepted (``FleetEpoch/none`` if none). Sent from
    /// minor 2 on; ``FleetEpoch/none`` and not sent below.
    public var fleetEpoch: FleetEpoch
    /// Bytes a minor newer than ours put between the fields we know and the MAC: not
    /// understood, but kept, because the MAC covers them (SPEC.md §9).
    public var laterFields: [UInt8]
    /// The first 16 bytes of HMAC-SHA256(lamp key, hello transcript), SPEC.md §4.
    public var mac: Block16

    /// A hello.
    public init(
        minorVersion: UInt8 = LampProtocolVersion.minor, lampID: LampID, firmware: FirmwareVersion,
        capabilities: Capabilities, appliedVersion: UInt32, configVersion: UInt32, programRevision: UInt32,
        clock: UInt32, clientNonce: Block16, fleetEpoch: FleetEpoch = .none, laterFields: [UInt8] = [], mac: Block16
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
        self.fleetEpoch = fleetEpoch
        self.laterFields = laterFields
        self.mac = mac
    }

    /// Whether this hello's layout carries ``fleetEpoch`` (minor 2 and later).
    public var carriesFleetEpoch: Bool { minorVersion >= Self.fleetEpochMinorVersion }

    /// Writes everything the MAC covers: every byte of the message before the MAC.
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
        if carriesFleetEpoch { sink.write(fleetEpoch.rawValue) }
        for byte in laterFields { sink.write(byte) }
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
        let capabilities = Capabilities(rawValue: try reader.readUInt16("capabilities"))
        let applied = try reader.readUInt32("appliedVersion")
        let config = try reader.readUInt32("configVersion")
        let program = try reader.readUInt32("programRevision")
        let clock = try reader.readUInt32("clock")
        let nonce = try reader.readBlock16("clientNonce")
        let epoch = minor >= fleetEpochMinorVersion ? FleetEpoch(rawValue: try reader.readUInt64("fleetEpoch")) : .none
        // SPEC.md §9: the MAC is the last 16 bytes; a newer lamp's fields lie before it.
        let later = minor > LampProtocolVersion.minor ? reader.readLaterFields() : []
        return Hello(
            minorVersion: minor, lampID: LampID(validated: id), firmware: FirmwareVersion(validated: firmware),
            capabilities: capabilities, appliedVersion: applied, configVersion: config, programRevision: program,
            clock: clock, clientNonce: nonce, fleetEpoch: epoch, laterFields: later, mac: try reader.readBlock16("mac"))
    }
}
