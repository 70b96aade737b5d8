import Foundation
import LampProtocol
import Testing

/// Reads the golden vectors in Protocol/vectors/ and turns their fields into messages.
enum Vectors {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Protocol/vectors")

    static func load(_ name: String) -> [String: Any] {
        let url = directory.appendingPathComponent(name)
        guard let data = try? Data(contentsOf: url),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { fatalError("cannot read vector file \(url.path)") }
        return object
    }

    struct Valid: CustomTestStringConvertible, Sendable {
        let name: String
        let type: String
        let hex: String
        let canonicalHex: String?
        let peerMinorVersion: UInt8
        nonisolated(unsafe) let fields: [String: Any]
        var testDescription: String { name }
    }

    struct Invalid: CustomTestStringConvertible, Sendable {
        let name: String
        let hex: String
        let code: String
        let offset: Int
        let field: String?
        let messageType: UInt8?
        let peerMinorVersion: UInt8
        var testDescription: String { name }
    }

    static let valid: [Valid] = (load("messages.json")["vectors"] as? [[String: Any]] ?? []).map {
        Valid(
            name: $0["name"] as! String, type: $0["type"] as! String, hex: $0["hex"] as! String,
            canonicalHex: $0["canonicalHex"] as? String,
            peerMinorVersion: UInt8($0["peerMinorVersion"] as? Int ?? 0), fields: $0["fields"] as! [String: Any])
    }

    static let invalid: [Invalid] = (load("invalid.json")["vectors"] as? [[String: Any]] ?? []).map {
        let error = $0["error"] as! [String: Any]
        return Invalid(
            name: $0["name"] as! String, hex: $0["hex"] as! String, code: error["code"] as! String,
            offset: error["offset"] as! Int, field: error["field"] as? String,
            messageType: (error["messageType"] as? Int).map { UInt8($0) },
            peerMinorVersion: UInt8($0["peerMinorVersion"] as? Int ?? 0))
    }
}

/// Bytes from hex text; traps on bad hex because vectors are trusted test input.
func bytes(hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        out.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return out
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// Builds the message a vector's fields describe, through the public initializers.
func message(type: String, fields f: [String: Any]) -> LampMessage {
    func int(_ key: String) -> Int { f[key] as! Int }
    func u32(_ key: String) -> UInt32 { UInt32(int(key)) }
    func u16(_ key: String) -> UInt16 { UInt16(int(key)) }
    func u8(_ key: String) -> UInt8 { UInt8(int(key)) }
    func level(_ key: String) -> Level { Level(permille: int(key))! }
    func fade(_ key: String) -> FadeTime { FadeTime(deciseconds: u8(key)) }
    func block(_ key: String) -> Block16 { Block16(bytes: bytes(hex: f[key] as! String))! }
    func bool(_ key: String) -> Bool { f[key] as! Bool }
    func epoch() -> FleetEpoch? { (f["fleetEpoch"] as? String).map { FleetEpoch(hex: $0)! } }
    func later() -> [UInt8] { bytes(hex: f["laterFields"] as? String ?? "") }
    switch type {
    case "challenge":
        return .challenge(Challenge(minorVersion: u8("minorVersion"), serverNonce: block("serverNonce")))
    case "hello":
        return .hello(
            Hello(
                minorVersion: u8("minorVersion"), lampID: LampID(f["lampID"] as! String)!,
                firmware: FirmwareVersion(f["firmware"] as! String)!,
                capabilities: Capabilities(rawValue: u16("capabilities")), appliedVersion: u32("appliedVersion"),
                configVersion: u32("configVersion"), programRevision: u32("programRevision"), clock: u32("clock"),
                clientNonce: block("clientNonce"), fleetEpoch: epoch() ?? .none, laterFields: later(), mac: block("mac")))
    case "welcome":
        return .welcome(
            Welcome(
                timeMilliseconds: (f["timeMilliseconds"] as! NSNumber).uint64Value,
                reportIntervalSeconds: u16("reportIntervalSeconds"), pingIntervalSeconds: u16("pingIntervalSeconds"),
                fleetEpoch: epoch(), laterFields: later(), proof: block("proof"))!)
    case "ack":
        return .ack(Ack(ackedType: MessageType(rawValue: u8("ackedType")), ref: u32("ref")))
    case "nack":
        return .nack(
            Nack(ackedType: MessageType(rawValue: u8("ackedType")), ref: u32("ref"), reason: NackReason(rawValue: u8("reason"))))
    case "statusReport":
        return .statusReport(
            StatusReport(
                appliedVersion: u32("appliedVersion"), level: level("level"), mode: LampMode(rawValue: u8("mode"))!,
                isLit: bool("lit"), isFading: bool("fading"), powerDeciwatts: u16("powerDeciwatts"),
                energyWattHours: u32("energyWattHours"), burnSeconds: u32("burnSeconds"),
                faults: FaultSet(rawValue: u16("faults")),
                temperatureCelsius: (f["temperatureCelsius"] as? Int).map { Int8($0) },
                ambientLux: (f["ambientLux"] as? Int).map { UInt16($0) }, programRevision: u32("programRevision"),
                clock: u32("clock")))
    case "event":
        return .event(
            LampEvent(sequence: u32("sequence"), kind: EventKind(rawValue: u8("kind")), detail: u16("detail"), time: u32("time")))
    case "setLevel":
        return .setLevel(SetLevel(version: u32("version"), level: level("level"), fade: fade("fade")))
    case "switch":
        return .switch(Switch(version: u32("version"), on: bool("on"), fade: fade("fade")))
    case "override":
        return .override(
            Override(version: u32("version"), level: level("level"), fade: fade("fade"), durationSeconds: u32("durationSeconds"))!)
    case "resumeProgram":
        return .resumeProgram(ResumeProgram(version: u32("version"), fade: fade("fade")))
    case "config":
        return .config(
            Config(
                configVersion: u32("configVersion"), reportIntervalSeconds: u16("reportIntervalSeconds"),
                failSafeLevel: level("failSafeLevel"), powerOnLevel: level("powerOnLevel"), minLevel: level("minLevel"),
                maxLevel: level("maxLevel"))!)
    case "identify":
        return .identify(Identify(ref: u32("ref"), durationSeconds: u16("durationSeconds"))!)
    case "reboot":
        return .reboot(Reboot(ref: u32("ref")))
    case "rekey":
        return .rekey(Rekey(ref: u32("ref"), generation: u32("generation"), wrappedKey: bytes(hex: f["wrappedKey"] as! String))!)
    case "programHeader":
        return .programHeader(
            ProgramHeader(
                revision: u32("revision"), entryCount: u8("entryCount"), skipShorterMinutes: u16("skipShorterMinutes"),
                latitudeMicrodegrees: Int32(int("latitude")), longitudeMicrodegrees: Int32(int("longitude")),
                timeZone: f["timeZone"] as! String)!)
    case "programPage":
        let entries = (f["entries"] as! [[String: Int]]).map { e in
            ProgramEntryWire(
                trigger: UInt8(e["trigger"]!), offsetMinutes: Int16(e["offset"]!), level: Level(permille: e["level"]!)!,
                fade: FadeTime(deciseconds: UInt8(e["fade"]!)), days: UInt8(e["days"]!), fromMonth: UInt8(e["fromMonth"]!),
                fromDay: UInt8(e["fromDay"]!), toMonth: UInt8(e["toMonth"]!), toDay: UInt8(e["toDay"]!))!
        }
        return .programPage(ProgramPage(revision: u32("revision"), page: u8("page"), entries: entries)!)
    default:
        fatalError("unknown vector type \(type)")
    }
}
