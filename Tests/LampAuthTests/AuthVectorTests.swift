import Foundation
import LampAuth
import LampProtocol
import Testing

/// One entry of Protocol/vectors/auth.json.
struct AuthVector: Sendable, CustomTestStringConvertible {
    let masterKey: String
    let lampID: String
    let lampKey: String
    let serverNonce: String
    let helloHex: String
    let welcomeHex: String
    /// The layout the welcome has: the lower of the controller's minor and the hello's.
    let welcomeMinorVersion: UInt8
    let description: String
    var testDescription: String { description }

    static let all: [AuthVector] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Protocol/vectors/auth.json")
        let object = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return (object["vectors"] as! [[String: Any]]).map {
            AuthVector(
                masterKey: $0["masterKey"] as! String, lampID: $0["lampID"] as! String, lampKey: $0["lampKey"] as! String,
                serverNonce: $0["serverNonce"] as! String, helloHex: $0["helloHex"] as! String,
                welcomeHex: $0["welcomeHex"] as! String, welcomeMinorVersion: UInt8($0["welcomeMinorVersion"] as! Int),
                description: $0["description"] as! String)
        }
    }()
}

@Suite("Authentication (SPEC.md §4) against Protocol/vectors/auth.json")
struct AuthVectorTests {
    func decode(_ hex: String, peerMinorVersion: UInt8 = LampProtocolVersion.minor) throws -> LampMessage {
        try LampMessage.decode(HexBytes.decode(hex)!, peerMinorVersion: peerMinorVersion)
    }

    @Test("the lamp key derived from the fleet key matches", arguments: AuthVector.all)
    func lampKey(vector: AuthVector) {
        let fleet = FleetKey(hex: vector.masterKey)!
        #expect(HexBytes.encode(fleet.lampKey(for: LampID(vector.lampID)!).bytes) == vector.lampKey)
    }

    @Test("the hello MAC and welcome proof match and verify", arguments: AuthVector.all)
    func macs(vector: AuthVector) throws {
        let key = LampKey(bytes: HexBytes.decode(vector.lampKey)!)
        let nonce = Block16(bytes: HexBytes.decode(vector.serverNonce)!)!
        guard case .hello(let hello) = try decode(vector.helloHex),
            case .welcome(let welcome) = try decode(vector.welcomeHex, peerMinorVersion: vector.welcomeMinorVersion)
        else {
            Issue.record("vector does not hold a hello and a welcome")
            return
        }
        #expect(key.helloMAC(for: hello, serverNonce: nonce) == hello.mac)
        #expect(key.verify(hello, serverNonce: nonce))
        #expect(key.welcomeProof(for: welcome, clientNonce: hello.clientNonce, serverNonce: nonce) == welcome.proof)
        #expect(key.verify(welcome, clientNonce: hello.clientNonce, serverNonce: nonce))
    }

    @Test("a replayed hello fails against a fresh challenge; a wrong key fails", arguments: AuthVector.all)
    func replayAndWrongKey(vector: AuthVector) throws {
        let key = LampKey(bytes: HexBytes.decode(vector.lampKey)!)
        guard case .hello(let hello) = try decode(vector.helloHex) else { return }
        #expect(!key.verify(hello, serverNonce: Nonce.random()))
        let otherKey = FleetKey.generate().lampKey(for: hello.lampID)
        #expect(!otherKey.verify(hello, serverNonce: Block16(bytes: HexBytes.decode(vector.serverNonce)!)!))
        var tampered = hello
        tampered.appliedVersion &+= 1
        #expect(!key.verify(tampered, serverNonce: Block16(bytes: HexBytes.decode(vector.serverNonce)!)!))
        // Every byte before the MAC is covered: the epoch and a newer minor's fields too.
        if hello.carriesFleetEpoch {
            var otherEpoch = hello
            otherEpoch.fleetEpoch.rawValue ^= 1
            #expect(!key.verify(otherEpoch, serverNonce: Block16(bytes: HexBytes.decode(vector.serverNonce)!)!))
        }
        if !hello.laterFields.isEmpty {
            var otherLater = hello
            otherLater.laterFields[0] ^= 1
            #expect(!key.verify(otherLater, serverNonce: Block16(bytes: HexBytes.decode(vector.serverNonce)!)!))
        }
    }

    @Test("fleet keys: length limits, hex round trip, fresh keys differ")
    func fleetKeys() {
        #expect(FleetKey(hex: String(repeating: "ab", count: 15)) == nil)
        #expect(FleetKey(hex: String(repeating: "ab", count: 65)) == nil)
        #expect(FleetKey(hex: "zz" + String(repeating: "ab", count: 20)) == nil)
        #expect(FleetKey(hex: "abc") == nil)
        let key = FleetKey.generate()
        #expect(FleetKey(hex: key.hex)?.hex == key.hex)
        #expect(FleetKey.generate().hex != key.hex)
        #expect(Nonce.random() != Nonce.random())
    }
}
