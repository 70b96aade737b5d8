import LampProtocol
import Testing

/// The bytes SPEC.md §4.3 puts around frame tags, which LampProtocol owns (the HMAC is
/// LampAuth's): the session-key input, which links carry tags, and session.json's layout.
@Suite("Frame tag layout (SPEC.md §4.3)")
struct FrameTagLayoutTests {
    @Test("the session-key input is the label, a zero byte, the direction and both nonces")
    func sessionKeyInput() {
        let client = Block16(high: 0x0102_0304_0506_0708, low: 0x090a_0b0c_0d0e_0f10)
        let server = Block16(high: 0x1112_1314_1516_1718, low: 0x191a_1b1c_1d1e_1f20)
        let input = AuthenticationTranscript.sessionKeyInput(.lampToController, clientNonce: client, serverNonce: server)
        #expect(
            hex(input)
                == hex(Array("lamplighter/v1/session".utf8)) + "00" + "02" + "0102030405060708090a0b0c0d0e0f10"
                + "1112131415161718191a1b1c1d1e1f20")
        #expect(FrameDirection.controllerToLamp.rawValue == 1)
        #expect(AuthenticationTranscript.frameTagLength == 8)
    }

    @Test("tags only when both sides announced minor 2 or later", arguments: [(0, 2), (1, 2), (2, 1), (2, 0), (2, 2), (3, 2), (2, 3)])
    func whichLinks(controller: UInt8, lamp: UInt8) {
        #expect(AuthenticationTranscript.framesAuthenticated(controllerMinor: controller, lampMinor: lamp) == (min(controller, lamp) >= 2))
    }

    @Test("after the welcome, each step of session.json is its message followed by its 8-byte tag, and the message decodes")
    func sessionLayout() throws {
        let steps = Vectors.load("session.json")["steps"] as! [[String: Any]]
        let types = steps.map { $0["type"] as! String }
        let welcome = try #require(types.firstIndex(of: "welcome"))
        for (index, step) in steps.enumerated() {
            let wire = bytes(hex: step["hex"] as! String)
            guard index > welcome else {
                #expect(step["messageHex"] == nil && step["tag"] == nil)
                continue
            }
            let message = bytes(hex: step["messageHex"] as! String)
            #expect(wire == message + bytes(hex: step["tag"] as! String))
            #expect(wire.count == message.count + AuthenticationTranscript.frameTagLength)
            #expect(try LampMessage.decode(message, peerMinorVersion: 2).type.description == types[index])
        }
    }
}
