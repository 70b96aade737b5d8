import FleetCore
import LampAuth
import LampProtocol
import Testing

/// The whole lamp link as one value: handshake, key lookup, requests, pings, close; no
/// sockets, no clock, no sleeps.
@Suite("A lamp link's connection state machine")
struct ConnectionStateMachineTests {
    static let configuration = ConnectionStateMachine.Configuration(
        handshakeDeadlineMilliseconds: 5000, pingIntervalMilliseconds: 20_000, requestTimeoutMilliseconds: 10_000)
    static let welcome = Welcome(timeMilliseconds: 0, reportIntervalSeconds: 60, pingIntervalSeconds: 20, proof: .zero)!

    static func machine(at now: UInt64 = 1000) -> ConnectionStateMachine {
        ConnectionStateMachine(serverNonce: Block16(high: 7, low: 9), configuration: configuration, atMilliseconds: now)
    }

    /// A hello with a valid MAC for the machine's challenge.
    static func signedHello(_ machine: ConnectionStateMachine, applied: UInt32 = 0, config: UInt32 = 1) throws -> Hello {
        let challenge = try #require(machine.challenge)
        var hello = Fixtures.hello(applied: applied, config: config)
        hello.mac = Fixtures.fleet.lampKey(for: hello.lampID).helloMAC(for: hello, serverNonce: challenge.serverNonce)
        return hello
    }

    static func sent(_ actions: [ConnectionStateMachine.Action]) -> [LampMessage] {
        actions.compactMap {
            if case .send(let message) = $0 { return message }
            return nil
        }
    }

    static func closeCode(_ actions: [ConnectionStateMachine.Action]) -> UInt16? {
        for case .close(let code, _) in actions { return code }
        return nil
    }

    /// Drives a machine through the handshake to `linked`.
    static func linked(desired: DesiredState = Fixtures.desired(control: 3), applied: UInt32 = 0) throws -> (ConnectionStateMachine, [ConnectionStateMachine.Action]) {
        var machine = machine()
        let hello = try signedHello(machine, applied: applied)
        #expect(machine.received(.hello(hello), atMilliseconds: 1100) == [.lookUpKey(Fixtures.lampID)])
        #expect(machine.keyLookedUp(Fixtures.fleet.lampKey(for: Fixtures.lampID), welcome: welcome, atMilliseconds: 1101) == [.helloMACCompared, .authenticated(hello)])
        let actions = machine.established(desired: desired, atMilliseconds: 1102)
        return (machine, actions)
    }

    @Test("a valid hello: key lookup, welcome with proof, online event, then the desired state")
    func handshake() throws {
        let (machine, actions) = try Self.linked()
        #expect(machine.isLinked)
        let messages = Self.sent(actions)
        guard case .welcome(let welcome)? = messages.first else {
            Issue.record("no welcome first: \(actions)")
            return
        }
        let hello = try Self.signedHello(Self.machine())
        #expect(Fixtures.fleet.lampKey(for: Fixtures.lampID).verify(welcome, clientNonce: hello.clientNonce, serverNonce: Block16(high: 7, low: 9)))
        #expect(actions.contains(.emit(.online(Fixtures.lampID, firmware: "1.0"))))
        #expect(messages.dropFirst().map(\.type) == [.setLevel])
    }

    @Test("an unknown id and a wrong MAC get the same close code, and the refusal is reported once")
    func refusedHellos() throws {
        var unknown = Self.machine()
        let hello = try Self.signedHello(unknown)
        _ = unknown.received(.hello(hello), atMilliseconds: 1100)
        let refused = unknown.keyLookedUp(nil, welcome: Self.welcome, atMilliseconds: 1100)
        #expect(Self.closeCode(refused) == LampCloseCode.authenticationFailed)
        #expect(refused.filter { if case .handshakeRefused = $0 { true } else { false } }.count == 1)

        var wrong = Self.machine()
        var forged = try Self.signedHello(wrong)
        forged.mac = .zero
        _ = wrong.received(.hello(forged), atMilliseconds: 1100)
        #expect(Self.closeCode(wrong.keyLookedUp(Fixtures.fleet.lampKey(for: Fixtures.lampID), welcome: Self.welcome, atMilliseconds: 1100)) == LampCloseCode.authenticationFailed)
        #expect(wrong.isClosing)
        #expect(wrong.connectionClosed().isEmpty)
    }

    @Test("no hello by the deadline closes with 4002; anything before hello with 1008; a message while the key is looked up with 1008")
    func handshakeRules() throws {
        var slow = Self.machine(at: 1000)
        #expect(slow.tick(atMilliseconds: 6000).isEmpty)
        #expect(Self.closeCode(slow.tick(atMilliseconds: 6001)) == LampCloseCode.handshakeTimeout)

        var rude = Self.machine()
        #expect(Self.closeCode(rude.received(.ack(Ack(ackedType: .setLevel, ref: 1)), atMilliseconds: 1001)) == LampCloseCode.policyViolation)

        var eager = Self.machine()
        _ = eager.received(.hello(try Self.signedHello(eager)), atMilliseconds: 1100)
        #expect(Self.closeCode(eager.received(.statusReport(Fixtures.report()), atMilliseconds: 1101)) == LampCloseCode.policyViolation)
        // The lookup's late answer does nothing to a closing link.
        #expect(eager.keyLookedUp(Fixtures.fleet.lampKey(for: Fixtures.lampID), welcome: Self.welcome, atMilliseconds: 1102).isEmpty)
    }

    @Test("a quiet link is pinged every interval and closed with 4004 after two silent intervals")
    func pingsAndIdle() throws {
        var (machine, _) = try Self.linked(desired: Fixtures.desired(control: 0, config: 1), applied: 0)
        // Due first for the proof wait: silent since the welcome, it then counts as proven.
        #expect(machine.nextDueMilliseconds == 1102 + ConnectionStateMachine.proofWaitMilliseconds)
        #expect(machine.tick(atMilliseconds: 1102 + ConnectionStateMachine.proofWaitMilliseconds) == [.proven(Fixtures.lampID)])
        #expect(machine.nextDueMilliseconds == 1102 + 20_000)
        #expect(machine.tick(atMilliseconds: 21_102) == [.ping])
        machine.frameReceived(atMilliseconds: 21_200)
        #expect(machine.tick(atMilliseconds: 41_102).contains(.ping))
        #expect(Self.closeCode(machine.tick(atMilliseconds: 61_201)) == LampCloseCode.pingTimeout)
        #expect(machine.connectionClosed() == [.unlinked(Fixtures.lampID)])
    }

    @Test("a link is proven once: by the lamp's first message after the welcome, or by staying open the proof wait; never before the welcome")
    func proof() throws {
        // Not before the welcome: a hello alone proves nothing (the lamp may give up on it).
        var early = Self.machine()
        let hello = try Self.signedHello(early)
        #expect(!early.received(.hello(hello), atMilliseconds: 1100).contains(.proven(Fixtures.lampID)))
        #expect(!early.tick(atMilliseconds: 1100 + ConnectionStateMachine.proofWaitMilliseconds + 1).contains(.proven(Fixtures.lampID)))

        var (talking, _) = try Self.linked(desired: Fixtures.desired(control: 0, config: 1), applied: 0)
        let first = talking.received(.statusReport(Fixtures.report()), atMilliseconds: 1200)
        #expect(first.first == .proven(Fixtures.lampID))
        #expect(!talking.received(.statusReport(Fixtures.report()), atMilliseconds: 1300).contains(.proven(Fixtures.lampID)))
        #expect(!talking.tick(atMilliseconds: 1102 + ConnectionStateMachine.proofWaitMilliseconds).contains(.proven(Fixtures.lampID)))

        var silent = try Self.linked(desired: Fixtures.desired(control: 0, config: 1), applied: 0).0
        // The sweeper ticks a link only when it is due: the proof wait makes it due.
        #expect(silent.nextDueMilliseconds <= 1102 + ConnectionStateMachine.proofWaitMilliseconds)
        #expect(!silent.tick(atMilliseconds: 1102 + ConnectionStateMachine.proofWaitMilliseconds - 1).contains(.proven(Fixtures.lampID)))
        #expect(silent.tick(atMilliseconds: 1102 + ConnectionStateMachine.proofWaitMilliseconds).contains(.proven(Fixtures.lampID)))
        #expect(!silent.tick(atMilliseconds: 1102 + 2 * ConnectionStateMachine.proofWaitMilliseconds).contains(.proven(Fixtures.lampID)))
    }

    @Test("identify is a request of the machine: sent once when nothing is in flight, answered, never resent")
    func onceRequests() throws {
        var (machine, _) = try Self.linked(desired: Fixtures.desired(control: 3), applied: 0)
        // setLevel 3 is in flight: identify waits.
        let identify = LampMessage.identify(Identify(ref: 77, durationSeconds: 10)!)
        #expect(Self.sent(machine.requestOnce(identify, atMilliseconds: 1200)).isEmpty)
        let afterAck = machine.received(.ack(Ack(ackedType: .setLevel, ref: 3)), atMilliseconds: 1300)
        #expect(afterAck.contains(.link(.controlApplied(3))))
        #expect(Self.sent(afterAck) == [identify])
        let answered = machine.received(.ack(Ack(ackedType: .identify, ref: 77)), atMilliseconds: 1400)
        #expect(answered == [.link(.onceAnswered(type: .identify, ref: 77, accepted: true))])

        // A reboot without an answer is reported unanswered after the timeout, not resent.
        let reboot = LampMessage.reboot(Reboot(ref: 78))
        #expect(Self.sent(machine.requestOnce(reboot, atMilliseconds: 2000)) == [reboot])
        let timedOut = machine.tick(atMilliseconds: 12_001)
        #expect(timedOut.contains(.link(.onceAnswered(type: .reboot, ref: 78, accepted: false))))
        #expect(!Self.sent(timedOut).contains(reboot))
    }

    @Test("a lamp event is stored first and acknowledged only once stored; a status report is noted after the versions it proves")
    func lampMessages() throws {
        var (machine, _) = try Self.linked(desired: Fixtures.desired(control: 3), applied: 0)
        let event = LampEvent(sequence: 5, kind: .faultRaised, detail: 0, time: 0)
        let actions = machine.received(.event(event), atMilliseconds: 1200)
        #expect(actions == [.proven(Fixtures.lampID), .storeEvent(event)])
        #expect(machine.eventStored(sequence: 5) == [.send(.ack(Ack(ackedType: .event, ref: 5)))])
        #expect(machine.eventRefused(sequence: 6) == [.send(.nack(Nack(ackedType: .event, ref: 6, reason: .busy)))])
        var report = Fixtures.report()
        report.appliedVersion = 3
        let reported = machine.received(.statusReport(report), atMilliseconds: 1300)
        #expect(reported.first == .link(.controlApplied(3)))
        #expect(reported.last == .statusReported(report))
    }

    @Test("garbage after the handshake is nacked and closes with 4003; an unknown type is nacked and the link stays")
    func undecodable() throws {
        var (machine, _) = try Self.linked()
        let unknown = machine.undecodable(try Fixtures.decodeError([0x7f, 0, 0, 0, 9, 1, 2]), type: MessageType(rawValue: 0x7f), ref: 9, atMilliseconds: 1200)
        #expect(unknown == [.send(.nack(Nack(ackedType: MessageType(rawValue: 0x7f), ref: 9, reason: .unknownType)))])
        #expect(machine.isLinked)
        let garbage = machine.undecodable(try Fixtures.decodeError([0x10, 0xde, 0xad]), type: .statusReport, ref: 0, atMilliseconds: 1300)
        #expect(Self.closeCode(garbage) == LampCloseCode.malformedMessage)
        #expect(machine.isClosing)
    }

    @Test("the peer's close is answered once; a replaced or shut-down link closes with its own code")
    func closing() throws {
        var (peer, _) = try Self.linked()
        #expect(peer.closeReceived() == [.close(code: 1000, reason: "closed by the lamp")])
        #expect(peer.closeReceived().isEmpty)
        #expect(peer.connectionClosed() == [.unlinked(Fixtures.lampID)])

        var (old, _) = try Self.linked()
        #expect(Self.closeCode(old.replaced()) == LampCloseCode.replaced)
        var (stopping, _) = try Self.linked()
        #expect(Self.closeCode(stopping.shutdown()) == LampCloseCode.goingAway)
        #expect(stopping.desiredChanged(Fixtures.desired(control: 9), atMilliseconds: 2000).isEmpty)
        // An event stored after its link closed is not answered on it: the lamp sends it
        // again on its next link.
        #expect(stopping.eventStored(sequence: 5).isEmpty && stopping.eventRefused(sequence: 5).isEmpty)
    }
}
