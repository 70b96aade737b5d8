import LampProtocol
import Testing

/// A small seeded generator (SplitMix64) so every property run is reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random valid messages of every type, edge values included.
struct MessageGenerator {
    var rng: SeededGenerator

    mutating func u32() -> UInt32 { [0, 1, UInt32.max, UInt32.random(in: 0 ... .max, using: &rng)].randomElement(using: &rng)! }
    mutating func u16() -> UInt16 { UInt16.random(in: 0 ... .max, using: &rng) }
    mutating func u8() -> UInt8 { UInt8.random(in: 0 ... .max, using: &rng) }
    mutating func level() -> Level { Level(permille: [0, 1, 1000, Int.random(in: 0...1000, using: &rng)].randomElement(using: &rng)!)! }
    mutating func fade() -> FadeTime { FadeTime(deciseconds: u8()) }
    mutating func block() -> Block16 { Block16(high: rng.next(), low: rng.next()) }
    mutating func bool() -> Bool { Bool.random(using: &rng) }
    mutating func text(_ alphabet: [Character], _ lengths: ClosedRange<Int>) -> String {
        String((0..<Int.random(in: lengths, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
    }

    static let idAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
    static let printable = (0x20...0x7e).map { Character(Unicode.Scalar(UInt8($0))) }

    mutating func message() -> LampMessage {
        switch Int.random(in: 0..<17, using: &rng) {
        case 0: return .challenge(Challenge(serverNonce: block()))
        case 1:
            return .hello(
                Hello(
                    lampID: LampID(text(Self.idAlphabet, 1...32))!, firmware: FirmwareVersion(text(Self.printable, 1...32))!,
                    capabilities: Capabilities(rawValue: u16()), appliedVersion: u32(), configVersion: u32(),
                    programRevision: u32(), clock: u32(), clientNonce: block(), fleetEpoch: FleetEpoch(rawValue: rng.next()),
                    mac: block()))
        case 2:
            return .welcome(
                Welcome(
                    timeMilliseconds: rng.next(), reportIntervalSeconds: UInt16.random(in: 1...3600, using: &rng),
                    pingIntervalSeconds: UInt16.random(in: 1...3600, using: &rng), fleetEpoch: FleetEpoch(rawValue: rng.next()),
                    proof: block())!)
        case 3: return .ack(Ack(ackedType: MessageType(rawValue: u8()), ref: u32()))
        case 4: return .nack(Nack(ackedType: MessageType(rawValue: u8()), ref: u32(), reason: NackReason(rawValue: u8())))
        case 5:
            return .statusReport(
                StatusReport(
                    appliedVersion: u32(), level: level(), mode: LampMode(rawValue: UInt8.random(in: 0...7, using: &rng))!,
                    isLit: bool(), isFading: bool(), powerDeciwatts: u16(), energyWattHours: u32(), burnSeconds: u32(),
                    faults: FaultSet(rawValue: u16()), temperatureCelsius: bool() ? nil : Int8.random(in: -127...127, using: &rng),
                    ambientLux: bool() ? nil : UInt16.random(in: 0...65534, using: &rng), programRevision: u32(), clock: u32()))
        case 6: return .event(LampEvent(sequence: u32(), kind: EventKind(rawValue: u8()), detail: u16(), time: u32()))
        case 7: return .setLevel(SetLevel(version: u32(), level: level(), fade: fade()))
        case 8: return .switch(Switch(version: u32(), on: bool(), fade: fade()))
        case 9:
            return .override(
                Override(version: u32(), level: level(), fade: fade(), durationSeconds: UInt32.random(in: 1...2_592_000, using: &rng))!)
        case 10: return .resumeProgram(ResumeProgram(version: u32(), fade: fade()))
        case 11:
            let minLevel = Int.random(in: 1...1000, using: &rng)
            return .config(
                Config(
                    configVersion: u32(), reportIntervalSeconds: UInt16.random(in: 1...3600, using: &rng),
                    failSafeLevel: level(), powerOnLevel: level(), minLevel: Level(permille: minLevel)!,
                    maxLevel: Level(permille: Int.random(in: minLevel...1000, using: &rng))!)!)
        case 12: return .identify(Identify(ref: u32(), durationSeconds: UInt16.random(in: 1...600, using: &rng))!)
        case 13:
            return .programHeader(
                ProgramHeader(
                    revision: u32(), entryCount: UInt8.random(in: 0...64, using: &rng), skipShorterMinutes: UInt16.random(in: 0...720, using: &rng),
                    latitudeMicrodegrees: Int32.random(in: -90_000_000...90_000_000, using: &rng),
                    longitudeMicrodegrees: Int32.random(in: -180_000_000...180_000_000, using: &rng),
                    timeZone: ["UTC0", "CET-1CEST,M3.5.0,M10.5.0/3", "<+0545>-5:45"][Int.random(in: 0...2, using: &rng)])!)
        case 14:
            let entries = (0..<Int.random(in: 1...16, using: &rng)).map { _ in
                let trigger = UInt8.random(in: 0...6, using: &rng)
                return ProgramEntryWire(
                    trigger: trigger, offsetMinutes: trigger == 0 ? Int16.random(in: 0...1439, using: &rng) : Int16.random(in: -720...720, using: &rng),
                    level: level(), fade: fade(), days: UInt8.random(in: 1...127, using: &rng))!
            }
            return .programPage(ProgramPage(revision: u32(), page: UInt8.random(in: 0...3, using: &rng), entries: entries)!)
        case 15:
            var wrapped: [UInt8] = []
            for _ in 0..<32 { wrapped.append(u8()) }
            return .rekey(Rekey(ref: u32(), generation: UInt32.random(in: 1...UInt32.max, using: &rng), wrappedKey: wrapped)!)
        default: return .reboot(Reboot(ref: u32()))
        }
    }
}

@Suite("Codec properties over random messages")
struct PropertyTests {
    @Test("every random valid message survives encode then decode", arguments: [1, 2, 3, 42] as [UInt64])
    func roundTrip(seed: UInt64) throws {
        var generator = MessageGenerator(rng: SeededGenerator(seed: seed))
        for _ in 0..<5000 {
            let original = generator.message()
            let encoded = original.bytes
            #expect(encoded.count <= LampProtocolLimits.maximumMessageSize)
            let decoded = try LampMessage.decode(encoded)
            #expect(decoded == original)
        }
    }

    @Test("every strict prefix of a valid message is refused, never decoded or crashed on")
    func prefixes() {
        var generator = MessageGenerator(rng: SeededGenerator(seed: 7))
        for _ in 0..<2000 {
            let encoded = generator.message().bytes
            for length in 0..<encoded.count {
                #expect(throws: LampProtocolError.self) { try LampMessage.decode(Array(encoded[0..<length])) }
            }
        }
    }

    @Test("random byte strings and mutations never crash the decoder")
    func garbage() {
        var generator = MessageGenerator(rng: SeededGenerator(seed: 99))
        var decodedCount = 0
        for round in 0..<20000 {
            var input: [UInt8]
            if round % 2 == 0 {
                input = generator.message().bytes
                let flips = Int.random(in: 1...4, using: &generator.rng)
                for _ in 0..<flips {
                    let at = Int.random(in: 0..<input.count, using: &generator.rng)
                    input[at] = generator.u8()
                }
            } else {
                input = (0..<Int.random(in: 0...80, using: &generator.rng)).map { _ in generator.u8() }
            }
            if (try? LampMessage.decode(input)) != nil {
                decodedCount += 1
            }
        }
        // Some mutations land on free-valued fields and stay valid: the run exercised both paths.
        #expect(decodedCount > 0)
    }

    @Test("a set-level command is at most 8 bytes and a status report at most 32")
    func sizes() {
        var generator = MessageGenerator(rng: SeededGenerator(seed: 5))
        for _ in 0..<2000 {
            let message = generator.message()
            switch message {
            case .setLevel: #expect(message.bytes.count == 8)
            case .statusReport: #expect(message.bytes.count == 31)
            default: break
            }
        }
    }
}
