import Foundation
import LampProtocol
import Testing

@Suite("Levels, DALI mapping and value types")
struct ValueTests {
    @Test("the DALI table matches the formula 10^(3(n-1)/253) for every arc power")
    func arcToLevel() {
        #expect(Level(daliArcPower: 0) == .off)
        #expect(Level(daliArcPower: 255) == nil)
        for arc in 1...254 {
            let expected = Int((pow(10.0, 3.0 * Double(arc - 1) / 253.0)).rounded())
            #expect(Level(daliArcPower: UInt8(arc))?.permille == UInt16(expected), "arc \(arc)")
        }
    }

    @Test("every level maps to round(1 + 253 log10(level) / 3)")
    func levelToArc() {
        #expect(Level.off.daliArcPower == 0)
        for permille in 1...1000 {
            let expected = min(254, max(1, Int((1 + 253 * log10(Double(permille)) / 3).rounded(.toNearestOrAwayFromZero))))
            #expect(Level(permille: permille)!.daliArcPower == UInt8(expected), "level \(permille)")
        }
    }

    @Test("the DALI vectors hold in both directions")
    func daliVectors() {
        let file = Vectors.load("dali.json")
        for pair in file["levelToArc"] as! [[Int]] {
            #expect(Level(permille: pair[0])!.daliArcPower == UInt8(pair[1]))
        }
        for pair in file["arcToLevel"] as! [[Int]] {
            #expect(Level(daliArcPower: UInt8(pair[0]))!.permille == UInt16(pair[1]))
        }
    }

    @Test("arc power survives level and back where the level scale is finer than DALI")
    func arcRoundTrip() {
        // From arc 126 (3.0 % light) up, half a per-mille step is smaller than half a DALI
        // step, so nothing is lost; below it several arc powers share one level (SPEC.md §6.2).
        for arc in 126...254 {
            #expect(Level(daliArcPower: UInt8(arc))!.daliArcPower == UInt8(arc))
        }
    }

    @Test("constructors refuse out-of-range values instead of clamping")
    func constructors() {
        #expect(Level(permille: -1) == nil)
        #expect(Level(permille: 1001) == nil)
        #expect(LampID("") == nil)
        #expect(LampID(String(repeating: "a", count: 33)) == nil)
        #expect(LampID("lamp 1") == nil)
        #expect(LampID("lämp") == nil)
        #expect(FirmwareVersion("tab\t") == nil)
        #expect(FadeTime(milliseconds: 25_600) == nil)
        #expect(FadeTime(milliseconds: 150) == nil)
        #expect(FadeTime(milliseconds: 2_500)?.deciseconds == 25)
        #expect(Override(version: 1, level: .full, fade: .immediate, durationSeconds: 0) == nil)
        #expect(Identify(ref: 1, durationSeconds: 601) == nil)
        #expect(Welcome(timeMilliseconds: 0, reportIntervalSeconds: 0, pingIntervalSeconds: 1, proof: .zero) == nil)
        #expect(
            Config(
                configVersion: 1, reportIntervalSeconds: 60, failSafeLevel: .full, powerOnLevel: .full,
                minLevel: Level(permille: 500)!, maxLevel: Level(permille: 499)!) == nil)
        #expect(LampLevelDescription.check())
    }

    @Test("errors describe code, field, message and offset")
    func errorDescription() {
        do {
            _ = try LampMessage.decode([0x20, 0, 0, 0, 1, 0x03, 0xe9, 0])
            Issue.record("level 1001 decoded")
        } catch {
            #expect(error.description == "outOfRange: field level of message 0x20 at offset 5")
        }
    }

    @Test("an unknown type's reference is found for the negative acknowledgement")
    func nackReference() {
        let bytes: [UInt8] = [0x7f, 0, 0, 1, 2, 9]
        #expect(bytes.withUnsafeBytes { LampMessage.referenceForNack($0) } == 258)
        #expect([UInt8]([0x7f, 1]).withUnsafeBytes { LampMessage.referenceForNack($0) } == 0)
    }
}

enum LampLevelDescription {
    static func check() -> Bool {
        Level(permille: 305)!.description == "30.5%" && FadeTime(deciseconds: 25).description == "2.5s"
            && LampMode.override.description == "override" && LampMode(rawValue: 6)!.description == "mode-6"
    }
}
