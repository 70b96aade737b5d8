/// Controller to lamp, ends a successful handshake (SPEC.md §5.3). 29 bytes.
///
/// `0x03 | time u64 | reportInterval u16 | pingInterval u16 | proof 16`
public struct Welcome: WireMessage {
    static let type = MessageType.welcome
    /// The controller's UTC time, milliseconds since the Unix epoch; the lamp sets its clock.
    public var timeMilliseconds: UInt64
    /// Seconds between status reports, 1...3600.
    public var reportIntervalSeconds: UInt16
    /// Seconds between the controller's pings, 1...3600. A lamp that hears nothing for three
    /// intervals treats the link as dead and reconnects.
    public var pingIntervalSeconds: UInt16
    /// The first 16 bytes of HMAC-SHA256(lamp key, welcome transcript): proves to the lamp
    /// that the controller holds its key (SPEC.md §4).
    public var proof: Block16

    /// A welcome; nil when an interval is outside 1...3600.
    public init?(timeMilliseconds: UInt64, reportIntervalSeconds: UInt16, pingIntervalSeconds: UInt16, proof: Block16) {
        guard LampProtocolLimits.reportIntervalSeconds.contains(reportIntervalSeconds),
            LampProtocolLimits.pingIntervalSeconds.contains(pingIntervalSeconds)
        else { return nil }
        self.timeMilliseconds = timeMilliseconds
        self.reportIntervalSeconds = reportIntervalSeconds
        self.pingIntervalSeconds = pingIntervalSeconds
        self.proof = proof
    }

    /// Writes everything the proof covers: the whole message but the proof.
    func encodeSignedPart<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(Welcome.type.rawValue)
        encodeSignedFields(into: &sink)
    }

    private func encodeSignedFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(timeMilliseconds)
        sink.write(reportIntervalSeconds)
        sink.write(pingIntervalSeconds)
    }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        encodeSignedFields(into: &sink)
        sink.write(proof)
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> Welcome {
        let time = try reader.readUInt64("timeMilliseconds")
        let reportAt = reader.offset
        let report = try reader.readUInt16("reportIntervalSeconds")
        try reader.check(LampProtocolLimits.reportIntervalSeconds.contains(report), "reportIntervalSeconds", at: reportAt)
        let pingAt = reader.offset
        let ping = try reader.readUInt16("pingIntervalSeconds")
        try reader.check(LampProtocolLimits.pingIntervalSeconds.contains(ping), "pingIntervalSeconds", at: pingAt)
        let proof = try reader.readBlock16("proof")
        // Both ranges were checked just above, so the initializer cannot fail.
        return Welcome(timeMilliseconds: time, reportIntervalSeconds: report, pingIntervalSeconds: ping, proof: proof)!
    }
}
