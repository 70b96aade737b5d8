import FleetCore
import LampProtocol
import Testing

@Suite("A link's requests: one in flight, latest only, retries")
struct LinkStateMachineTests {
    @Test("on connect the lamp gets config first, then control, one at a time")
    func reconcileOnConnect() {
        var link = LinkStateMachine(hello: Fixtures.hello(), desired: Fixtures.desired(control: 3))
        let first = Fixtures.sentMessages(link.start(atMilliseconds: 0))
        #expect(first.map(\.type) == [.config])
        #expect(link.hasRequestInFlight)
        let second = link.received(.ack(Ack(ackedType: .config, ref: 1)), atMilliseconds: 5)
        #expect(second.contains(.configApplied(1)))
        #expect(Fixtures.sentMessages(second) == [.setLevel(SetLevel(version: 3, level: Level(permille: 300)!, fade: FadeTime(deciseconds: 20)))])
        let third = link.received(.ack(Ack(ackedType: .setLevel, ref: 3)), atMilliseconds: 9)
        #expect(third == [.controlApplied(3)])
        #expect(link.isConverged)
    }

    @Test("a lamp that already has everything gets nothing")
    func alreadyConverged() {
        var link = LinkStateMachine(hello: Fixtures.hello(applied: 3, config: 1), desired: Fixtures.desired(control: 3))
        #expect(link.start(atMilliseconds: 0).isEmpty)
        #expect(link.isConverged)
    }

    @Test("commands given while one is in flight coalesce: only the latest is sent next")
    func coalescing() {
        var link = LinkStateMachine(hello: Fixtures.hello(applied: 1, config: 1), desired: Fixtures.desired(control: 1))
        _ = link.start(atMilliseconds: 0)
        let sent2 = Fixtures.sentMessages(link.desiredChanged(Fixtures.desired(control: 2), atMilliseconds: 1))
        #expect(sent2.count == 1)
        #expect(link.desiredChanged(Fixtures.desired(control: 3), atMilliseconds: 2).isEmpty)
        #expect(link.desiredChanged(Fixtures.desired(control: 4, .switched(on: false)), atMilliseconds: 3).isEmpty)
        let next = link.received(.ack(Ack(ackedType: .setLevel, ref: 2)), atMilliseconds: 4)
        #expect(Fixtures.sentMessages(next) == [.switch(Switch(version: 4, on: false, fade: FadeTime(deciseconds: 20)))])
    }

    @Test("an older desired state arriving late never replaces a newer one")
    func olderIgnored() {
        var link = LinkStateMachine(hello: Fixtures.hello(applied: 1, config: 1), desired: Fixtures.desired(control: 5))
        _ = link.start(atMilliseconds: 0)
        _ = link.desiredChanged(Fixtures.desired(control: 4), atMilliseconds: 1)
        #expect(link.desired.control.version == 5)
    }

    @Test("a request without an answer is sent again after the timeout, with the latest state")
    func timeoutAndRetry() {
        var link = LinkStateMachine(
            hello: Fixtures.hello(applied: 0, config: 1), desired: Fixtures.desired(control: 1), requestTimeoutMilliseconds: 1000)
        #expect(Fixtures.sentMessages(link.start(atMilliseconds: 0)).count == 1)
        #expect(link.tick(atMilliseconds: 999).isEmpty)
        let retry = link.tick(atMilliseconds: 1000)
        #expect(retry.contains(.retrying(type: .setLevel, ref: 1, attempt: 2)))
        #expect(Fixtures.sentMessages(retry).count == 1)
        _ = link.desiredChanged(Fixtures.desired(control: 2), atMilliseconds: 1500)
        let newer = link.tick(atMilliseconds: 2000)
        #expect(Fixtures.sentMessages(newer).map { LinkStateMachineTests.version(of: $0) } == [2])
        #expect(!newer.contains { if case .retrying = $0 { true } else { false } })
    }

    @Test("a refused version is reported once and never sent again; a stale one neither")
    func refusals() {
        var link = LinkStateMachine(hello: Fixtures.hello(applied: 0, config: 1), desired: Fixtures.desired(control: 7))
        _ = link.start(atMilliseconds: 0)
        let refused = link.received(.nack(Nack(ackedType: .setLevel, ref: 7, reason: .unsupported)), atMilliseconds: 1)
        #expect(refused == [.refused(type: .setLevel, ref: 7, reason: .unsupported)])
        #expect(link.tick(atMilliseconds: 100_000).isEmpty)
        let next = link.desiredChanged(Fixtures.desired(control: 8), atMilliseconds: 2)
        #expect(Fixtures.sentMessages(next).count == 1)
        let stale = link.received(.nack(Nack(ackedType: .setLevel, ref: 8, reason: .staleVersion)), atMilliseconds: 3)
        #expect(Fixtures.sentMessages(stale).isEmpty)
        #expect(link.isConverged)
    }

    @Test("a status report showing the version applied counts as applied")
    func statusCounts() {
        var link = LinkStateMachine(hello: Fixtures.hello(applied: 0, config: 1), desired: Fixtures.desired(control: 2))
        _ = link.start(atMilliseconds: 0)
        let report = StatusReport(
            appliedVersion: 2, level: Level(permille: 300)!, mode: .manual, isLit: true, isFading: false, powerDeciwatts: 0,
            energyWattHours: 0, burnSeconds: 0, faults: [], temperatureCelsius: nil, ambientLux: nil, programRevision: 0, clock: 0)
        #expect(link.received(.statusReport(report), atMilliseconds: 1).contains(.controlApplied(2)))
    }

    @Test("an override is sent with its remaining time, and as resume once expired")
    func overrideProjection() {
        let control = DesiredControl(version: 9, intent: .override(.full, untilMilliseconds: 10_000), fade: .immediate)
        #expect(control.message(atMilliseconds: 2_500) == .override(Override(version: 9, level: .full, fade: .immediate, durationSeconds: 8)!))
        #expect(control.message(atMilliseconds: 9_999) == .override(Override(version: 9, level: .full, fade: .immediate, durationSeconds: 1)!))
        #expect(control.message(atMilliseconds: 10_000) == .resumeProgram(ResumeProgram(version: 9, fade: .immediate)))
    }

    static func version(of message: LampMessage) -> UInt32? {
        if case .setLevel(let m) = message { return m.version }
        return nil
    }
}

/// A lamp that lies: acks for requests never sent prove nothing.
@Suite("A link's requests against a lying lamp")
struct LyingLampTests {
    @Test("an ack that matches no request in flight is ignored, not believed (ack setLevel ref 3999999999)")
    func ackOutOfFlight() {
        var link = LinkStateMachine(hello: Fixtures.hello(applied: 2, config: 1), desired: Fixtures.desired(control: 2))
        #expect(link.start(atMilliseconds: 0).isEmpty)
        let lie = link.received(.ack(Ack(ackedType: .setLevel, ref: 3_999_999_999)), atMilliseconds: 1)
        #expect(lie == [.ignored(type: .setLevel, ref: 3_999_999_999)])
        #expect(link.appliedControl == 2)
        // A newer desired state is still sent: the lie did not make the lamp look ahead.
        #expect(Fixtures.sentMessages(link.desiredChanged(Fixtures.desired(control: 3), atMilliseconds: 2)).map(\.type) == [.setLevel])
        // An ack of the right type but another version, or another type with the right ref, is ignored too.
        #expect(link.received(.ack(Ack(ackedType: .setLevel, ref: 4)), atMilliseconds: 3) == [.ignored(type: .setLevel, ref: 4)])
        #expect(link.received(.ack(Ack(ackedType: .switch, ref: 3)), atMilliseconds: 4) == [.ignored(type: .switch, ref: 3)])
        #expect(link.received(.ack(Ack(ackedType: .config, ref: 9)), atMilliseconds: 5) == [.ignored(type: .config, ref: 9)])
        #expect(link.received(.ack(Ack(ackedType: .setLevel, ref: 3)), atMilliseconds: 6) == [.controlApplied(3)])
    }

    @Test("a refused config is the config's refusal: it is never reported as a control version refused")
    func configRefusalIsNotACommandRefusal() {
        var link = LinkStateMachine(hello: Fixtures.hello(applied: 0, config: 1), desired: Fixtures.desired(control: 2, config: 2))
        #expect(Fixtures.sentMessages(link.start(atMilliseconds: 0)).map(\.type) == [.config])
        let refused = link.received(.nack(Nack(ackedType: .config, ref: 2, reason: .unsupported)), atMilliseconds: 1)
        #expect(refused.contains(.refused(type: .config, ref: 2, reason: .unsupported)))
        // The control version 2 goes out next and stays pending until the lamp answers it.
        #expect(Fixtures.sentMessages(refused).map(\.type) == [.setLevel])
        #expect(!refused.contains { if case .refused(let type, _, _) = $0 { LinkStateMachine.controlTypes.contains(type) } else { false } })
    }
}
