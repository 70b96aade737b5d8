import Foundation
import LampAuth
import LampProtocol
import Testing

@Suite("The worked example of SPEC.md §12")
struct SessionExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func session() throws -> [String: Any] {
        let data = try Data(contentsOf: root.appendingPathComponent("Protocol/vectors/session.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    @Test("every step decodes, the handshake verifies both ways, and SPEC.md shows the same bytes")
    func session() throws {
        let session = try Self.session()
        let steps = session["steps"] as! [[String: Any]]
        // After the welcome, `hex` is the message and its tag; `messageHex` the message alone.
        let messages = try steps.map { try LampMessage.decode(HexBytes.decode(($0["messageHex"] ?? $0["hex"]) as! String)!) }
        #expect(messages.map(\.type.description) == steps.map { $0["type"] as! String })

        let fleet = FleetKey(hex: session["masterKey"] as! String)!
        let key = fleet.lampKey(for: LampID(session["lampID"] as! String)!)
        #expect(HexBytes.encode(key.bytes) == session["lampKey"] as! String)
        guard case .challenge(let challenge) = messages[0], case .hello(let hello) = messages[1],
            case .welcome(let welcome) = messages[2], case .setLevel(let command) = messages[4],
            case .ack(let ack) = messages[5], case .statusReport(let after) = messages[6]
        else {
            Issue.record("the session's steps are not in the documented order")
            return
        }
        #expect(key.verify(hello, serverNonce: challenge.serverNonce))
        #expect(key.verify(welcome, clientNonce: hello.clientNonce, serverNonce: challenge.serverNonce))
        #expect(ack.ref == command.version && after.appliedVersion == command.version)

        let spec = try String(contentsOf: Self.root.appendingPathComponent("Protocol/SPEC.md"), encoding: .utf8)
        for step in steps {
            #expect(spec.contains(step["hex"] as! String), "SPEC.md §12 lacks the \(step["type"]!) bytes of session.json")
        }
        for key in (session["sessionKeys"] as! [String: String]).values {
            #expect(spec.contains(key), "SPEC.md §12 lacks the session key \(key)")
        }
        #expect(spec.contains(session["lampKey"] as! String))
    }

    /// The session's lamp key and nonces, from session.json.
    static func link(_ session: [String: Any]) -> (key: LampKey, client: Block16, server: Block16) {
        let key = FleetKey(hex: session["masterKey"] as! String)!.lampKey(for: LampID(session["lampID"] as! String)!)
        let client = Block16(bytes: HexBytes.decode(session["clientNonce"] as! String)!)!
        let server = Block16(bytes: HexBytes.decode(session["serverNonce"] as! String)!)!
        return (key, client, server)
    }

    @Test("the session keys and every tag after the welcome match the independent encoder, sealed and checked (SPEC.md §4.3)")
    func tags() throws {
        let session = try Self.session()
        let (key, client, server) = Self.link(session)
        let keys = session["sessionKeys"] as! [String: String]
        #expect(
            HexBytes.encode(FrameAuthenticator.sessionKey(lampKey: key, .controllerToLamp, clientNonce: client, serverNonce: server))
                == keys["controllerToLamp"])
        #expect(
            HexBytes.encode(FrameAuthenticator.sessionKey(lampKey: key, .lampToController, clientNonce: client, serverNonce: server))
                == keys["lampToController"])
        var controller = FrameAuthenticator(lampKey: key, role: .controller, clientNonce: client, serverNonce: server)
        var lamp = FrameAuthenticator(lampKey: key, role: .lamp, clientNonce: client, serverNonce: server)
        let tagged = (session["steps"] as! [[String: Any]]).filter { $0["messageHex"] != nil }
        #expect(tagged.count == 5)
        for step in tagged {
            let message = HexBytes.decode(step["messageHex"] as! String)!
            let wire = HexBytes.decode(step["hex"] as! String)!
            let fromLamp = step["sender"] as! String == "lamp"
            #expect(UInt64(step["counter"] as! Int) == (fromLamp ? lamp.sendCounter : controller.sendCounter))
            let sealed = fromLamp ? lamp.sealed(message) : controller.sealed(message)
            #expect(sealed == wire, "\(step["type"]!) at counter \(step["counter"]!)")
            #expect(HexBytes.encode(sealed.suffix(8)) == step["tag"] as! String)
            let opened = fromLamp ? controller.open(wire) : lamp.open(wire)
            #expect(opened == message.count)
        }
    }

    @Test("every rejected frame of session.json fails its receiver's check at the given counter")
    func rejected() throws {
        let session = try Self.session()
        let (key, client, server) = Self.link(session)
        let tagged = (session["steps"] as! [[String: Any]]).filter { $0["messageHex"] != nil }
        let rejected = session["rejected"] as! [[String: Any]]
        #expect(rejected.count >= 6)
        for frame in rejected {
            let receiver = frame["receiver"] as! String
            var check = FrameAuthenticator(
                lampKey: key, role: receiver == "lamp" ? .lamp : .controller, clientNonce: client, serverNonce: server)
            // Receive the genuine frames before it, up to the counter it is expected at.
            for step in tagged where step["sender"] as! String != receiver && (step["counter"] as! Int) < (frame["counter"] as! Int) {
                #expect(check.open(HexBytes.decode(step["hex"] as! String)!) != nil)
            }
            #expect(check.receiveCounter == UInt64(frame["counter"] as! Int))
            #expect(check.open(HexBytes.decode(frame["hex"] as! String)!) == nil, "\(frame["description"]!)")
            #expect(check.receiveCounter == UInt64(frame["counter"] as! Int), "a refused frame does not advance the counter")
        }
    }
}
