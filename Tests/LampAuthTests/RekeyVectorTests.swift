import Foundation
import LampAuth
import LampProtocol
import Testing

/// Protocol/vectors/rekey.json, made by the independent Python encoder: generation-g lamp keys
/// (SPEC.md §4.1) and a rekey request with its pad and tag (§8.12) on the link of §12.
@Suite("Rekey vectors (SPEC.md §4.1, §8.12)")
struct RekeyVectorTests {
    static func vectors() throws -> [String: Any] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("Protocol/vectors/rekey.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    @Test("every generation's lamp key matches; generation 0 is the key of SPEC.md §4.1")
    func derivations() throws {
        let derivations = try Self.vectors()["derivations"] as! [[String: Any]]
        #expect(derivations.count == 5)
        for vector in derivations {
            let fleet = FleetKey(hex: vector["masterKey"] as! String)!
            let id = LampID(vector["lampID"] as! String)!
            let generation = UInt32(vector["generation"] as! Int)
            let key = fleet.lampKey(for: id, generation: generation)
            #expect(HexBytes.encode(key.bytes) == vector["lampKey"] as! String, "generation \(generation) of \(id)")
            if generation == 0 { #expect(key == fleet.lampKey(for: id)) } else { #expect(key != fleet.lampKey(for: id)) }
        }
    }

    @Test("the rekey frame: wrapped and sealed by the controller, opened and unwrapped by the lamp; the ack's tag")
    func rekeyFrame() throws {
        let v = try Self.vectors()["rekey"] as! [String: Any]
        let fleet = FleetKey(hex: v["masterKey"] as! String)!
        let id = LampID(v["lampID"] as! String)!
        let oldKey = fleet.lampKey(for: id)
        #expect(HexBytes.encode(oldKey.bytes) == v["oldLampKey"] as! String)
        let newKey = fleet.lampKey(for: id, generation: 1)
        #expect(HexBytes.encode(newKey.bytes) == v["newLampKey"] as! String)
        let client = Block16(bytes: HexBytes.decode(v["clientNonce"] as! String)!)!
        let server = Block16(bytes: HexBytes.decode(v["serverNonce"] as! String)!)!
        var controller = FrameAuthenticator(lampKey: oldKey, role: .controller, clientNonce: client, serverNonce: server)
        var lamp = FrameAuthenticator(lampKey: oldKey, role: .lamp, clientNonce: client, serverNonce: server)
        let ref = UInt32(v["ref"] as! Int)
        #expect(HexBytes.encode(controller.rekeyPad(ref: ref, generation: 1)) == v["pad"] as! String)
        #expect(lamp.rekeyPad(ref: ref, generation: 1) == controller.rekeyPad(ref: ref, generation: 1))
        let rekey = try #require(controller.rekey(ref: ref, generation: 1, newKey: newKey))
        #expect(HexBytes.encode(rekey.wrappedKey) == v["wrappedKey"] as! String)
        #expect(HexBytes.encode(LampMessage.rekey(rekey).bytes) == v["messageHex"] as! String)

        // The frame goes out at the controller's counter 1 (after the setLevel of §12).
        _ = controller.sealed(LampMessage.setLevel(SetLevel(version: 42, level: Level(permille: 300)!, fade: FadeTime(deciseconds: 20))).bytes)
        let wire = controller.sealed(LampMessage.rekey(rekey).bytes)
        #expect(HexBytes.encode(wire) == v["hex"] as! String)
        _ = lamp.open(HexBytes.decode(Self.setLevelHex)!)
        let opened = lamp.open(wire)
        let length = try #require(opened)
        guard case .rekey(let received) = try LampMessage.decode(Array(wire[0..<length])) else {
            Issue.record("not a rekey")
            return
        }
        #expect(lamp.unwrap(received) == newKey)
        // A wrapped key altered on the path fails the tag (4006), and unwrapped with another link's pad it is not the key.
        var other = FrameAuthenticator(lampKey: oldKey, role: .lamp, clientNonce: server, serverNonce: client)
        #expect(other.unwrap(received) != newKey)
        var flipped = wire
        flipped[20] ^= 1
        var fresh = FrameAuthenticator(lampKey: oldKey, role: .lamp, clientNonce: client, serverNonce: server)
        _ = fresh.open(HexBytes.decode(Self.setLevelHex)!)
        #expect(fresh.open(flipped) == nil)
    }

    /// The §12 setLevel as sent (controller counter 0), from session.json.
    static let setLevelHex: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = try! Data(contentsOf: root.appendingPathComponent("Protocol/vectors/session.json"))
        let session = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        let steps = session["steps"] as! [[String: Any]]
        return steps.first { ($0["type"] as! String) == "setLevel" }!["hex"] as! String
    }()

    @Test("a rekey of generation 0 cannot be made")
    func generationZero() {
        #expect(Rekey(ref: 1, generation: 0, wrappedKey: [UInt8](repeating: 0, count: 32)) == nil)
        #expect(Rekey(ref: 1, generation: 1, wrappedKey: [UInt8](repeating: 0, count: 31)) == nil)
    }
}
