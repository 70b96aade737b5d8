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
        let steps = session["steps"] as! [[String: String]]
        let messages = try steps.map { try LampMessage.decode(HexBytes.decode($0["hex"]!)!) }
        #expect(messages.map(\.type.description) == steps.map { $0["type"]! })

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
            #expect(spec.contains(step["hex"]!), "SPEC.md §12 lacks the \(step["type"]!) bytes of session.json")
        }
        #expect(spec.contains(session["lampKey"] as! String))
    }
}
