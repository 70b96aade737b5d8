import FleetCore
import LampAuth
import LampProtocol
import Testing

@Suite("The controller's handshake")
struct HandshakeTests {
    static let welcome = Welcome(timeMilliseconds: 1, reportIntervalSeconds: 60, pingIntervalSeconds: 20, proof: .zero)!

    func signedHello(for handshake: HandshakeStateMachine, key: LampKey) -> Hello {
        var hello = Fixtures.hello()
        hello.mac = key.helloMAC(for: hello, serverNonce: handshake.challenge.serverNonce)
        return hello
    }

    @Test("a lamp with the right key is welcomed, with a proof it can check")
    func success() {
        var handshake = HandshakeStateMachine(serverNonce: Nonce.random(), atMilliseconds: 0)
        let key = Fixtures.fleet.lampKey(for: Fixtures.lampID)
        let hello = signedHello(for: handshake, key: key)
        guard case .authenticated(let who, let welcome) = handshake.received(
            .hello(hello), atMilliseconds: 100, keyFor: { Fixtures.fleet.lampKey(for: $0) }, welcome: Self.welcome)
        else {
            Issue.record("not authenticated")
            return
        }
        #expect(who.lampID == Fixtures.lampID)
        #expect(key.verify(welcome, clientNonce: hello.clientNonce, serverNonce: handshake.challenge.serverNonce))
        #expect(handshake.isAuthenticated)
    }

    @Test("wrong key, unknown lamp and replayed hello are refused with 4001")
    func refusals() {
        let key = Fixtures.fleet.lampKey(for: Fixtures.lampID)
        var first = HandshakeStateMachine(serverNonce: Nonce.random(), atMilliseconds: 0)
        let captured = signedHello(for: first, key: key)
        _ = first.received(.hello(captured), atMilliseconds: 1, keyFor: { Fixtures.fleet.lampKey(for: $0) }, welcome: Self.welcome)

        var replay = HandshakeStateMachine(serverNonce: Nonce.random(), atMilliseconds: 0)
        guard case .close(let code, let reason, _) = replay.received(
            .hello(captured), atMilliseconds: 1, keyFor: { Fixtures.fleet.lampKey(for: $0) }, welcome: Self.welcome)
        else { Issue.record("replay accepted"); return }
        #expect(code == LampCloseCode.authenticationFailed && reason == "wrong MAC")

        var wrongKey = HandshakeStateMachine(serverNonce: Nonce.random(), atMilliseconds: 0)
        let forged = signedHello(for: wrongKey, key: FleetKey.generate().lampKey(for: Fixtures.lampID))
        guard case .close(let code2, _, _) = wrongKey.received(
            .hello(forged), atMilliseconds: 1, keyFor: { Fixtures.fleet.lampKey(for: $0) }, welcome: Self.welcome)
        else { Issue.record("wrong key accepted"); return }
        #expect(code2 == LampCloseCode.authenticationFailed)

        var unknown = HandshakeStateMachine(serverNonce: Nonce.random(), atMilliseconds: 0)
        guard case .close(let code3, let reason3, let id) = unknown.received(
            .hello(signedHello(for: unknown, key: key)), atMilliseconds: 1, keyFor: { _ in nil }, welcome: Self.welcome)
        else { Issue.record("unknown lamp accepted"); return }
        #expect(code3 == LampCloseCode.authenticationFailed && reason3 == "unknown lamp" && id == Fixtures.lampID)
    }

    @Test("no hello within 5 s closes with 4002; anything but hello first closes with 1008")
    func deadlineAndOrder() {
        var slow = HandshakeStateMachine(serverNonce: Nonce.random(), atMilliseconds: 1000)
        guard case .none = slow.tick(atMilliseconds: 6000) else { Issue.record("closed early"); return }
        guard case .close(let code, _, _) = slow.tick(atMilliseconds: 6001) else { Issue.record("not closed"); return }
        #expect(code == LampCloseCode.handshakeTimeout)

        var rude = HandshakeStateMachine(serverNonce: Nonce.random(), atMilliseconds: 0)
        guard case .close(let code2, _, _) = rude.received(
            .ack(Ack(ackedType: .setLevel, ref: 1)), atMilliseconds: 1, keyFor: { _ in nil }, welcome: Self.welcome)
        else { Issue.record("not closed"); return }
        #expect(code2 == LampCloseCode.policyViolation)
    }
}

@Suite("The handshake during a key rotation (SPEC.md §8.12)")
struct RekeyHandshakeTests {
    static let current = Fixtures.fleet.lampKey(for: Fixtures.lampID)
    static let pending = Fixtures.fleet.lampKey(for: Fixtures.lampID, generation: 1)
    static let standIn = Fixtures.fleet.lampKey(for: LampID("zzzzzzzzz")!, generation: 1)

    func verify(signedWith key: LampKey, alternate: LampKey, accepted: Bool, registered: Bool = true) -> (HandshakeStateMachine, HandshakeStateMachine.Action, Hello) {
        var handshake = HandshakeStateMachine(serverNonce: Nonce.random(), atMilliseconds: 0)
        var hello = Fixtures.hello()
        hello.mac = key.helloMAC(for: hello, serverNonce: handshake.challenge.serverNonce)
        let action = handshake.verify(
            hello, key: Self.current, alternate: alternate, alternateAccepted: accepted, registered: registered, atMilliseconds: 1,
            welcome: HandshakeTests.welcome)
        return (handshake, action, hello)
    }

    @Test("while a rotation is pending both keys are welcomed, each with a proof under its own key")
    func bothKeysInTheWindow() {
        for (key, alternate) in [(Self.current, false), (Self.pending, true)] {
            let (handshake, action, hello) = verify(signedWith: key, alternate: Self.pending, accepted: true)
            guard case .authenticated(_, let welcome) = action else {
                Issue.record("refused")
                continue
            }
            #expect(handshake.verifiedWithAlternate == alternate)
            #expect(key.verify(welcome, clientNonce: hello.clientNonce, serverNonce: handshake.challenge.serverNonce))
        }
    }

    @Test("the new key without a pending rotation, a stand-in, and an unknown id are refused with 4001")
    func refusals() {
        // The pending key is checked (same work) but not accepted when no rotation is pending.
        for (action, what) in [
            (verify(signedWith: Self.pending, alternate: Self.pending, accepted: false).1, "not pending"),
            (verify(signedWith: Self.standIn, alternate: Self.standIn, accepted: false).1, "stand-in"),
            (verify(signedWith: Self.pending, alternate: Self.pending, accepted: true, registered: false).1, "unknown id"),
        ] {
            guard case .close(let code, _, _) = action else {
                Issue.record("\(what): welcomed")
                continue
            }
            #expect(code == LampCloseCode.authenticationFailed, "\(what)")
        }
    }
}
