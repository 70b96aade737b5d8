/// Lamp to controller, sent every report interval and after every change (SPEC.md §7.1).
/// 31 bytes.
///
/// `0x10 | appliedVersion u32 | level u16 | state u8 | power u16 | energy u32 |
///  burnSeconds u32 | faults u16 | temperature i8 | ambientLux u16 | programRevision u32 |
///  clock u32`
public struct StatusReport: WireMessage {
    static let type = MessageType.statusReport
    /// The control-state version the lamp has applied.
    public var appliedVersion: UInt32
    /// The light output now (during a fade, the level reached so far).
    public var level: Level
    /// What the lamp is following.
    public var mode: LampMode
    /// The light source is lit (relay closed and output above zero).
    public var isLit: Bool
    /// A fade is under way.
    public var isFading: Bool
    /// Active power in tenths of a watt (0 to 6553.5 W).
    public var powerDeciwatts: UInt16
    /// Energy used since manufacture, watt-hours.
    public var energyWattHours: UInt32
    /// Time lit since manufacture, seconds.
    public var burnSeconds: UInt32
    /// Faults present now.
    public var faults: FaultSet
    /// Luminaire temperature in °C, nil when not measured (wire value -128).
    public var temperatureCelsius: Int8?
    /// Ambient light in lux, nil when not measured (wire value 65535).
    public var ambientLux: UInt16?
    /// The program revision the lamp holds (0: none).
    public var programRevision: UInt32
    /// The lamp's clock, Unix seconds UTC (0: not set).
    public var clock: UInt32

    /// A status report. A temperature of -128 or ambient light of 65535 cannot be sent
    /// (they mean "not measured" on the wire), so they become nil.
    public init(
        appliedVersion: UInt32, level: Level, mode: LampMode, isLit: Bool, isFading: Bool,
        powerDeciwatts: UInt16, energyWattHours: UInt32, burnSeconds: UInt32, faults: FaultSet,
        temperatureCelsius: Int8?, ambientLux: UInt16?, programRevision: UInt32, clock: UInt32
    ) {
        self.appliedVersion = appliedVersion
        self.level = level
        self.mode = mode
        self.isLit = isLit
        self.isFading = isFading
        self.powerDeciwatts = powerDeciwatts
        self.energyWattHours = energyWattHours
        self.burnSeconds = burnSeconds
        self.faults = faults
        self.temperatureCelsius = temperatureCelsius == StatusReport.noTemperature ? nil : temperatureCelsius
        self.ambientLux = ambientLux == StatusReport.noAmbient ? nil : ambientLux
        self.programRevision = programRevision
        self.clock = clock
    }

    static let noTemperature = Int8.min
    static let noAmbient = UInt16.max
    static let litFlag: UInt8 = 1 << 3
    static let fadingFlag: UInt8 = 1 << 4

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(appliedVersion)
        sink.write(level.permille)
        sink.write(mode.rawValue | (isLit ? StatusReport.litFlag : 0) | (isFading ? StatusReport.fadingFlag : 0))
        sink.write(powerDeciwatts)
        sink.write(energyWattHours)
        sink.write(burnSeconds)
        sink.write(faults.rawValue)
        sink.write(temperatureCelsius ?? StatusReport.noTemperature)
        sink.write(ambientLux ?? StatusReport.noAmbient)
        sink.write(programRevision)
        sink.write(clock)
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> StatusReport {
        let applied = try reader.readUInt32("appliedVersion")
        let level = try reader.readLevel("level")
        // Bits 5 to 7 are reserved: sent as 0, ignored on receipt (SPEC.md §9).
        let state = try reader.readUInt8("state")
        let temperatureAndRest = (
            power: try reader.readUInt16("powerDeciwatts"),
            energy: try reader.readUInt32("energyWattHours"),
            burn: try reader.readUInt32("burnSeconds"),
            faults: try reader.readUInt16("faults"),
            temperature: try reader.readInt8("temperatureCelsius"),
            ambient: try reader.readUInt16("ambientLux"),
            program: try reader.readUInt32("programRevision"),
            clock: try reader.readUInt32("clock"))
        return StatusReport(
            appliedVersion: applied,
            level: level,
            // The mask keeps the value within 0...7, so the initializer cannot fail.
            mode: LampMode(rawValue: state & 0x07)!,
            isLit: state & litFlag != 0,
            isFading: state & fadingFlag != 0,
            powerDeciwatts: temperatureAndRest.power,
            energyWattHours: temperatureAndRest.energy,
            burnSeconds: temperatureAndRest.burn,
            faults: FaultSet(rawValue: temperatureAndRest.faults),
            temperatureCelsius: temperatureAndRest.temperature,
            ambientLux: temperatureAndRest.ambient,
            programRevision: temperatureAndRest.program,
            clock: temperatureAndRest.clock)
    }
}
