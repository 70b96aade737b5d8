/// Controller to lamp, ends a successful handshake (SPEC.md §5.3). 29 bytes in the layout of
/// minor 0 and 1, 37 in that of minor 2 (with ``fleetEpoch``); a later minor may add fields
/// before the proof.
///
/// `0x03 | time u64 | reportInterval u16 | pingInterval u16 | fleetEpoch 8 (minor ≥ 2) |
///  later fields (minor > 2) | proof 16`
///
/// The controller sends the layout of the lower of its minor and the lamp's (SPEC.md §5.3),
/// so a 1.1 lamp gets the 29 bytes it knows.
public struct Welcome: WireMessage {
    static let type = MessageType.welcome
    /// The controller's UTC time, milliseconds since the Unix epoch; the lamp sets its clock.
    public var timeMilliseconds: UInt64
    /// Seconds between status reports, 1...3600.
    public var reportIntervalSeconds: UInt16
    /// Seconds between the controller's pings, 1...3600. A lamp that hears nothing for three
    /// intervals treats the link as dead and reconnects.
    public var pingIntervalSeconds: UInt16
    /// The controller database's epoch (minor 2 layout); nil: the minor 0 and 1 layout,
    /// which has none.
    public var fleetEpoch: FleetEpoch?
    /// Bytes a minor newer than the receiver's put before the proof, kept because the proof
    /// covers them (SPEC.md §9).
    public var laterFields: [UInt8]
    /// The first 16 bytes of HMAC-SHA256(lamp key, welcome transcript): proves to the lamp
    /// that the controller holds its key (SPEC.md §4).
    public var proof: Block16

    /// A welcome; nil when an interval is outside 1...3600.
    public init?(
        timeMilliseconds: UInt64, reportIntervalSeconds: UInt16, pingIntervalSeconds: UInt16, fleetEpoch: FleetEpoch? = nil,
        laterFields: [UInt8] = [], proof: Block16
    ) {
        guard LampProtocolLimits.reportIntervalSeconds.contains(reportIntervalSeconds),
            LampProtocolLimits.pingIntervalSeconds.contains(pingIntervalSeconds)
        else { return nil }
        self.timeMilliseconds = timeMilliseconds
        self.reportIntervalSeconds = reportIntervalSeconds
        self.pingIntervalSeconds = pingIntervalSeconds
        self.fleetEpoch = fleetEpoch
        self.laterFields = laterFields
        self.proof = proof
    }

    /// Writes everything the proof covers: every byte of the message before the proof.
    func encodeSignedPart<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(Welcome.type.rawValue)
        encodeSignedFields(into: &sink)
    }

    private func encodeSignedFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(timeMilliseconds)
        sink.write(reportIntervalSeconds)
        sink.write(pingIntervalSeconds)
        if let fleetEpoch { sink.write(fleetEpoch.rawValue) }
        for byte in laterFields { sink.write(byte) }
    }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        encodeSignedFields(into: &sink)
        sink.write(proof)
    }

    /// Decodes this implementation's own layout (minor 2).
    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> Welcome {
        try decodeFields(from: &reader, minor: LampProtocolVersion.minor)
    }

    /// Decodes the layout of `minor`: the lower of the lamp's minor and its controller's.
    static func decodeFields(from reader: inout ByteReader, minor: UInt8) throws(LampProtocolError) -> Welcome {
        let time = try reader.readUInt64("timeMilliseconds")
        let reportAt = reader.offset
        let report = try reader.readUInt16("reportIntervalSeconds")
        try reader.check(LampProtocolLimits.reportIntervalSeconds.contains(report), "reportIntervalSeconds", at: reportAt)
        let pingAt = reader.offset
        let ping = try reader.readUInt16("pingIntervalSeconds")
        try reader.check(LampProtocolLimits.pingIntervalSeconds.contains(ping), "pingIntervalSeconds", at: pingAt)
        let epoch = minor >= Hello.fleetEpochMinorVersion ? FleetEpoch(rawValue: try reader.readUInt64("fleetEpoch")) : nil
        let later = minor > LampProtocolVersion.minor ? reader.readLaterFields() : []
        let proof = try reader.readBlock16("proof")
        // Both ranges were checked just above, so the initializer cannot fail.
        return Welcome(
            timeMilliseconds: time, reportIntervalSeconds: report, pingIntervalSeconds: ping, fleetEpoch: epoch,
            laterFields: later, proof: proof)!
    }
}
