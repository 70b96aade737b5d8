/// Controller to lamp: the lamp's configuration, versioned apart from its control state
/// (SPEC.md §8.7). 15 bytes.
///
/// `0x24 | configVersion u32 | reportInterval u16 | failSafeLevel u16 | powerOnLevel u16 |
///  minLevel u16 | maxLevel u16`
public struct Config: WireMessage {
    static let type = MessageType.config
    /// The config version this message establishes.
    public var configVersion: UInt32
    /// Seconds between status reports, 1...3600.
    public let reportIntervalSeconds: UInt16
    /// The level used with no usable program or clock and no controller.
    public var failSafeLevel: Level
    /// The level at power-up, until the program or controller says otherwise.
    public var powerOnLevel: Level
    /// The lowest level above off the lamp will show, 0.1 %...100 %.
    public let minLevel: Level
    /// The highest level the lamp will show, at least ``minLevel``.
    public let maxLevel: Level

    /// A config; nil when the report interval is outside 1...3600, the minimum is 0, or the
    /// maximum is below the minimum.
    public init?(
        configVersion: UInt32, reportIntervalSeconds: UInt16, failSafeLevel: Level, powerOnLevel: Level,
        minLevel: Level, maxLevel: Level
    ) {
        guard LampProtocolLimits.reportIntervalSeconds.contains(reportIntervalSeconds), minLevel.isOn,
            maxLevel >= minLevel
        else { return nil }
        self.configVersion = configVersion
        self.reportIntervalSeconds = reportIntervalSeconds
        self.failSafeLevel = failSafeLevel
        self.powerOnLevel = powerOnLevel
        self.minLevel = minLevel
        self.maxLevel = maxLevel
    }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(configVersion)
        sink.write(reportIntervalSeconds)
        sink.write(failSafeLevel.permille)
        sink.write(powerOnLevel.permille)
        sink.write(minLevel.permille)
        sink.write(maxLevel.permille)
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> Config {
        let version = try reader.readUInt32("configVersion")
        let reportAt = reader.offset
        let report = try reader.readUInt16("reportIntervalSeconds")
        try reader.check(LampProtocolLimits.reportIntervalSeconds.contains(report), "reportIntervalSeconds", at: reportAt)
        let failSafe = try reader.readLevel("failSafeLevel")
        let powerOn = try reader.readLevel("powerOnLevel")
        let minAt = reader.offset
        let minLevel = try reader.readLevel("minLevel")
        try reader.check(minLevel.isOn, "minLevel", at: minAt)
        let maxAt = reader.offset
        let maxLevel = try reader.readLevel("maxLevel")
        try reader.check(maxLevel >= minLevel, "maxLevel", at: maxAt)
        // Every condition of the initializer was checked above, so it cannot fail.
        return Config(
            configVersion: version, reportIntervalSeconds: report, failSafeLevel: failSafe, powerOnLevel: powerOn,
            minLevel: minLevel, maxLevel: maxLevel)!
    }
}
