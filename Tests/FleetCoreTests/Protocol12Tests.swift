import FleetCore
import LampAuth
import LampProtocol
import LightingPrograms
import Testing

/// The controller's rules of protocol 1.2 (SPEC.md §5.2, §5.4, §8.0 to §8.2, §8.11), at the
/// level of the state machines: no socket, no store, no clock.
@Suite("Protocol 1.2: fleet epoch, lamps ahead, capabilities, busy and restarts")
struct Protocol12Tests {
    static let epoch = FleetEpoch(rawValue: 0x4c61_6d70_e119_1202)

    static func hello(
        minor: UInt8 = 2, applied: UInt32 = 0, config: UInt32 = 0, program: UInt32 = 0, epoch: FleetEpoch = Self.epoch,
        capabilities: Capabilities = [.dimmable, .programs], id: LampID = Fixtures.lampID
    ) -> Hello {
        Hello(
            minorVersion: minor, lampID: id, firmware: FirmwareVersion("1.2")!, capabilities: capabilities, appliedVersion: applied,
            configVersion: config, programRevision: program, clock: 0, clientNonce: Block16(high: 3, low: 4), fleetEpoch: epoch, mac: .zero)
    }

    /// A fresh database's fleet: `count` lamps, nothing desired yet but the initial config.
    static func freshModel(_ count: Int = 1) -> FleetModel {
        var model = FleetModel(
            stored: (1...count).map { StoredLamp(record: LampRecord(id: LampID("lamp-\($0)")!), desired: .initial, reported: nil) })
        model.fleetEpoch = epoch
        return model
    }

    static func program(revision: UInt32, entries: Int) throws -> DesiredProgram {
        let place = Place(latitude: 52.37, longitude: 4.90, timeZone: .utc)
        let list = (0..<entries).map { ProgramEntry(trigger: .time(minutes: $0 * 10), level: UInt16($0 % 2 * 500)) }
        return DesiredProgram(
            revision: revision, name: "p", frames: try ProgramFrames(revision: revision, program: LightingProgram(entries: list), place: place))
    }

    // MARK: §5.4 fleet epoch and §8.0 lamps ahead

    @Test("a 1.2 lamp from another epoch counts as having applied nothing and gets its whole desired state")
    func otherEpoch() throws {
        var model = Self.freshModel()
        let hello = Self.hello(applied: 50, config: 9, program: 7, epoch: FleetEpoch(rawValue: 99), id: LampID("lamp-1")!)
        let upResult = model.linkUp(hello, atMilliseconds: 1)
        let up = try #require(upResult)
        #expect(up.outcome == .otherEpoch && up.reported == .none)
        #expect(model.lamps[0].appliedVersion == 0 && model.lamps[0].appliedConfigVersion == 0)
        var link = LinkStateMachine(hello: hello, desired: up.desired, reported: up.reported)
        // Config version 1 goes out although the lamp said it held 9: its 9 was another database's.
        #expect(Fixtures.sentMessages(link.start(atMilliseconds: 0)).map(\.type) == [.config])
    }

    @Test("several controllers (shared versions): a lamp ahead or unproven keeps its version until one comes from the shared counter; never the model's own next number")
    func sharedVersionsReissue() throws {
        var model = Self.freshModel(2)
        model.controlVersionsShared = true
        let slots = try #require(model.resolve(.all))
        // A command of another controller, version 5 from the counter.
        let control = DesiredControl(version: model.adoptVersion(5), intent: .level(Level(permille: 300)!), fade: .immediate)
        _ = model.commit(slots, control: control, atMilliseconds: 10)
        model.track(commandID: 1, target: .all, action: .level(Level(permille: 300)!, fade: .immediate), version: 5, slots: slots, atMilliseconds: 10)
        // Lamp 1 moved in holding 5 with no ack of this controller: unproven. Lamp 2 is ahead (9).
        let unprovenResult = model.linkUp(Self.hello(applied: 5, id: LampID("lamp-1")!), atMilliseconds: 20)
        let unproven = try #require(unprovenResult)
        let aheadResult = model.linkUp(Self.hello(applied: 9, id: LampID("lamp-2")!), atMilliseconds: 20)
        let ahead = try #require(aheadResult)
        #expect(unproven.outcome == .unproven && unproven.controlVersionWanted == 5 && unproven.desired.control.version == 5)
        #expect(ahead.outcome == .ahead && ahead.controlVersionWanted == 9 && ahead.desired.control.version == 5)
        // Before the fix: version 6 and 10 from the model's own sequence, which the counter
        // would give the next commands too. Nothing counts applied on these hellos.
        #expect(model.tracker.snapshot(1)?.applied == 0)
        // The counter's version comes back: both get it (one version serves a batch).
        let firstResult = model.reissueControl(slots[0], version: 10, atMilliseconds: 30)
        let secondResult = model.reissueControl(slots[1], version: 10, atMilliseconds: 30)
        let first = try #require(firstResult)
        let second = try #require(secondResult)
        #expect(first.control.version == 10 && second.control.version == 10 && first.control.intent == .level(Level(permille: 300)!))
        #expect(model.lastVersion == 10)
        // A version at or below the desired one (a newer command came meanwhile) changes nothing.
        let again = model.reissueControl(slots[0], version: 10, atMilliseconds: 40)
        #expect(again == nil)
        // Alone (no shared versions) the model issues its own next number, as before.
        var alone = Self.freshModel(1)
        let aloneSlots = try #require(alone.resolve(.all))
        let aloneControl = DesiredControl(version: alone.adoptVersion(5), intent: .level(Level(permille: 300)!), fade: .immediate)
        _ = alone.commit(aloneSlots, control: aloneControl, atMilliseconds: 10)
        let aloneResult = alone.linkUp(Self.hello(applied: 5, id: LampID("lamp-1")!), atMilliseconds: 20)
        let single = try #require(aloneResult)
        #expect(single.controlVersionWanted == nil && single.desired.control.version == 6)
    }

    @Test("fresh database, lamps ahead: the sequence moves past them, their state is issued again, nothing counts applied on the hello")
    func lampsAhead() throws {
        var model = Self.freshModel(3)
        // A command before the lamps link: version 1 of the fresh sequence.
        let slots = try #require(model.resolve(.all))
        let first = DesiredControl(version: model.nextVersion(), intent: .level(Level(permille: 200)!), fade: .immediate)
        _ = model.commit(slots, control: first, atMilliseconds: 10)
        model.track(commandID: 1, target: .all, action: .level(Level(permille: 200)!, fade: .immediate), version: first.version, slots: slots, atMilliseconds: 10)
        var links: [LinkStateMachine] = []
        for slot in slots {
            // 1.1 lamps (no epoch) that last talked to another database: versions 50.
            let hello = Self.hello(minor: 1, applied: 50, config: 3, program: 7, id: model.lamps[slot].record.id)
            let upResult = model.linkUp(hello, atMilliseconds: 20)
            let up = try #require(upResult)
            #expect(up.outcome == .ahead)
            #expect(up.desired.control.version > 50 && up.desired.control.intent == .level(Level(permille: 200)!))
            #expect(up.desired.config.version == 4 && up.desired.program.revision > 7 && up.desired.program.frames?.header.entryCount == 0)
            #expect(!model.lamps[slot].isConverged)
            links.append(LinkStateMachine(hello: hello, desired: up.desired, reported: up.reported))
        }
        // Before the fix the hello's 50 counted as applying version 1: "applied 3 / 3".
        #expect(model.tracker.snapshot(1)?.applied == 0)
        #expect(model.lastVersion > 50)
        // "dim all 20" now gets a version above everything the lamps hold, and is sent.
        let dim = DesiredControl(version: model.nextVersion(), intent: .level(Level(permille: 200)!), fade: .immediate)
        let changed = model.commit(slots, control: dim, atMilliseconds: 30)
        #expect(changed.count == 3)
        model.track(commandID: 2, target: .all, action: .level(Level(permille: 200)!, fade: .immediate), version: dim.version, slots: slots, atMilliseconds: 30)
        var link = links[0]
        #expect(Fixtures.sentMessages(link.start(atMilliseconds: 30)).map(\.type) == [.config])
        #expect(Fixtures.sentMessages(link.received(.ack(Ack(ackedType: .config, ref: 4)), atMilliseconds: 31)).map(\.type) == [.programHeader])
        let removal = link.desired.program.revision
        #expect(Fixtures.sentMessages(link.received(.ack(Ack(ackedType: .programHeader, ref: removal)), atMilliseconds: 32)).map(\.type) == [.setLevel])
        _ = link.received(.ack(Ack(ackedType: .setLevel, ref: link.desired.control.version)), atMilliseconds: 33)
        let sent = Fixtures.sentMessages(link.desiredChanged(changed[0].1, atMilliseconds: 34))
        #expect(sent == [.setLevel(SetLevel(version: dim.version, level: Level(permille: 200)!, fade: .immediate))])
        #expect(link.received(.ack(Ack(ackedType: .setLevel, ref: dim.version)), atMilliseconds: 35).contains(.controlApplied(dim.version)))
        _ = model.noteControlApplied(0, version: dim.version, atMilliseconds: 35)
        #expect(model.tracker.snapshot(2)?.applied == 1)
    }

    @Test("a report or hello of a version above the desired one proves nothing; a hello of the desired one only after an ack of this run")
    func onlyTheDesiredVersionProves() throws {
        var model = Self.freshModel()
        let control = DesiredControl(version: model.nextVersion(), intent: .level(.full), fade: .immediate)
        _ = model.commit([0], control: control, atMilliseconds: 1)
        // A hello holding the desired version, with no ack of this run behind it (the model
        // in Protocol/model found that a restored database reuses numbers): issued again.
        let firstUp = model.linkUp(Self.hello(applied: control.version, id: LampID("lamp-1")!), atMilliseconds: 2)
        let first = try #require(firstUp)
        #expect(first.outcome == .unproven && !model.lamps[0].isConverged)
        let fresh = first.desired.control.version
        #expect(fresh > control.version)
        _ = model.noteControlApplied(0, version: fresh, atMilliseconds: 3)
        model.linkDown(0, atMilliseconds: 4)
        // Proven by that ack, the same claim on the next link is believed.
        let secondUp = model.linkUp(Self.hello(applied: fresh, id: LampID("lamp-1")!), atMilliseconds: 5)
        let second = try #require(secondUp)
        #expect(second.outcome == .current && model.lamps[0].isConverged)
        var report = Fixtures.report(applied: 3_999_999_999)
        #expect(model.noteStatus(0, report, atMilliseconds: 3) == nil)
        var link = LinkStateMachine(hello: Self.hello(applied: 0), desired: Fixtures.desired(control: 5))
        _ = link.start(atMilliseconds: 0)
        #expect(!link.received(.statusReport(report), atMilliseconds: 1).contains(.controlApplied(3_999_999_999)))
        report.appliedVersion = 5
        #expect(link.received(.statusReport(report), atMilliseconds: 2).contains(.controlApplied(5)))
    }

    @Test("a version more than 2^24 above the sequence is not followed")
    func tooFarAhead() throws {
        var model = Self.freshModel()
        let far = LampProtocolLimits.maximumVersionJump + 10
        let upResult = model.linkUp(Self.hello(minor: 1, applied: far, id: LampID("lamp-1")!), atMilliseconds: 1)
        let up = try #require(upResult)
        #expect(up.outcome == .tooFarAhead(reported: far))
        #expect(model.lastVersion == 0 && !model.lamps[0].online)
        // Just inside the bound is followed.
        let nearResult = model.linkUp(Self.hello(minor: 1, applied: LampProtocolLimits.maximumVersionJump, id: LampID("lamp-1")!), atMilliseconds: 2)
        let near = try #require(nearResult)
        #expect(near.outcome == .ahead && model.lastVersion == LampProtocolLimits.maximumVersionJump + 1)
    }

    @Test("the welcome has the lower minor's layout: no epoch for a lamp of minor 1, the epoch for minor 2")
    func welcomeLayout() throws {
        let welcome = Welcome(timeMilliseconds: 0, reportIntervalSeconds: 60, pingIntervalSeconds: 20, fleetEpoch: Self.epoch, proof: .zero)!
        for (minor, expected) in [(UInt8(1), FleetEpoch?.none), (2, Self.epoch)] {
            var machine = ConnectionStateMachineTests.machine()
            let challenge = try #require(machine.challenge)
            var hello = Self.hello(minor: minor)
            hello.mac = Fixtures.fleet.lampKey(for: hello.lampID).helloMAC(for: hello, serverNonce: challenge.serverNonce)
            _ = machine.received(.hello(hello), atMilliseconds: 1001)
            _ = machine.keyLookedUp(Fixtures.fleet.lampKey(for: hello.lampID), welcome: welcome, atMilliseconds: 1002)
            let sent = ConnectionStateMachineTests.sent(machine.established(desired: Fixtures.desired(control: 0), atMilliseconds: 1003))
            guard case .welcome(let answer)? = sent.first else {
                Issue.record("no welcome")
                continue
            }
            #expect(answer.fleetEpoch == expected)
            #expect(LampMessage.welcome(answer).bytes.count == (minor < 2 ? 29 : 37))
            #expect(Fixtures.fleet.lampKey(for: hello.lampID).verify(answer, clientNonce: hello.clientNonce, serverNonce: challenge.serverNonce))
        }
    }

    // MARK: §8.1 answers out of flight

    @Test("a nack that matches no request in flight is ignored and changes nothing")
    func nackOutOfFlight() {
        var link = LinkStateMachine(hello: Self.hello(config: 1), desired: Fixtures.desired(control: 5))
        _ = link.start(atMilliseconds: 0)
        let actions = link.received(.nack(Nack(ackedType: .setLevel, ref: 4, reason: .staleVersion)), atMilliseconds: 1)
        #expect(actions == [.ignored(type: .setLevel, ref: 4)])
        #expect(link.appliedControl == 0 && link.hasRequestInFlight)
    }

    // MARK: §5.2 capabilities

    @Test("a lamp that cannot dim gets switch for a level and a full override; a lamp at full matches a dimmed program")
    func notDimmable() {
        var link = LinkStateMachine(hello: Self.hello(config: 1, capabilities: [.programs]), desired: Fixtures.desired(control: 5))
        #expect(Fixtures.sentMessages(link.start(atMilliseconds: 0)) == [.switch(Switch(version: 5, on: true, fade: FadeTime(deciseconds: 20)))])
        let override = DesiredControl(version: 6, intent: .override(Level(permille: 300)!, untilMilliseconds: 60_000), fade: .immediate)
        guard case .override(let sent) = override.message(atMilliseconds: 0, dimmable: false) else {
            Issue.record("not an override")
            return
        }
        #expect(sent.level == .full)
        #expect(ProgramMismatch.classify(expected: 300, reported: 1000, lit: true, sunUp: false, dimmable: false) == nil)
        #expect(ProgramMismatch.classify(expected: 300, reported: 1000, lit: true, sunUp: false) != nil)
    }

    @Test("no program frames to a lamp without programs or of minor 0, nor after nack(unknownType) on the link", arguments: [
        (UInt8(2), Capabilities([.dimmable])), (UInt8(0), Capabilities([.dimmable, .programs])),
    ])
    func noPrograms(minor: UInt8, capabilities: Capabilities) throws {
        var desired = Fixtures.desired(control: 5)
        desired.program = try Self.program(revision: 4, entries: 3)
        var link = LinkStateMachine(hello: Self.hello(minor: minor, config: 1, capabilities: capabilities), desired: desired)
        #expect(Fixtures.sentMessages(link.start(atMilliseconds: 0)).map(\.type) == [.setLevel])
        #expect(!link.sendsPrograms)

        var refusing = LinkStateMachine(hello: Self.hello(config: 1), desired: desired)
        #expect(Fixtures.sentMessages(refusing.start(atMilliseconds: 0)).map(\.type) == [.programHeader])
        let next = refusing.received(.nack(Nack(ackedType: .programHeader, ref: 4, reason: .unknownType)), atMilliseconds: 1)
        #expect(Fixtures.sentMessages(next).map(\.type) == [.setLevel])
        var newer = desired
        newer.program = try Self.program(revision: 8, entries: 3)
        _ = refusing.received(.ack(Ack(ackedType: .setLevel, ref: 5)), atMilliseconds: 2)
        #expect(Fixtures.sentMessages(refusing.desiredChanged(newer, atMilliseconds: 3)).isEmpty)
    }

    @Test("a lamp that does not run programs is not judged against one", arguments: [false, true])
    func judgeSkipsLampsWithoutPrograms(runsPrograms: Bool) throws {
        // 21 June 2026, 12:00 UTC on the equator at longitude 0: the sun is up.
        let noon: UInt64 = 1_782_043_200_000
        var model = Self.freshModel()
        model.loadPrograms(
            [ProgramRecord(name: "all-night", revision: 1, source: "sunset on\nsunrise off\n", updatedAtMilliseconds: 0, updatedBy: "t", lampCount: 0)],
            defaults: ProgramDefaults(timeZone: .utc, latitude: 0, longitude: 0))
        _ = model.assignProgram("all-night", to: [0], revision: 2)
        let capabilities: Capabilities = runsPrograms ? [.dimmable, .programs] : [.dimmable]
        _ = model.linkUp(Self.hello(config: 1, capabilities: capabilities, id: LampID("lamp-1")!), atMilliseconds: noon)
        model.noteStatus(0, Fixtures.report(), atMilliseconds: noon)
        var judge = ProgramJudge()
        #expect(model.lamps[0].runsPrograms == runsPrograms)
        // Lit by day: a mismatch for a lamp that runs the program, nothing for one that cannot.
        #expect(judge.judge(model, atMilliseconds: noon).isEmpty == !runsPrograms)
    }

    // MARK: §8.2 busy and unexpected

    @Test("nack(busy) is not final: the same request again after 1 s doubling to 60 s, with jitter; an ack resets it")
    func busyRetries() {
        var link = LinkStateMachine(hello: Self.hello(config: 1), desired: Fixtures.desired(control: 5))
        var now: UInt64 = 0
        _ = link.start(atMilliseconds: now)
        var waits: [UInt64] = []
        for _ in 0..<8 {
            now += 1
            let actions = link.received(.nack(Nack(ackedType: .setLevel, ref: 5, reason: .busy)), atMilliseconds: now)
            guard case .deferred(.setLevel, 5, let wait)? = actions.first else {
                Issue.record("not deferred: \(actions)")
                return
            }
            #expect(!actions.contains { if case .refused = $0 { true } else { false } })
            waits.append(wait)
            #expect(link.tick(atMilliseconds: now + wait - 1).isEmpty)
            now += wait
            #expect(Fixtures.sentMessages(link.tick(atMilliseconds: now)).map(\.type) == [.setLevel])
        }
        let bases: [UInt64] = [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]
        for (wait, base) in zip(waits, bases) {
            #expect(wait >= base && wait <= min(60_000, base + 1000))
        }
        _ = link.received(.ack(Ack(ackedType: .setLevel, ref: 5)), atMilliseconds: now + 1)
        #expect(link.isConverged)
    }

    @Test("nack(unexpected) on a page restarts the transfer from its header, three times, then gives up with a mismatch")
    func unexpectedPageRestarts() throws {
        var desired = Fixtures.desired(control: 0)
        desired.program = try Self.program(revision: 9, entries: 20)
        var link = LinkStateMachine(hello: Self.hello(config: 1), desired: desired)
        #expect(Fixtures.sentMessages(link.start(atMilliseconds: 0)).map(\.type) == [.programHeader])
        var now: UInt64 = 1
        for restart in 1...4 {
            let page = Fixtures.sentMessages(link.received(.ack(Ack(ackedType: .programHeader, ref: 9)), atMilliseconds: now))
            #expect(page.map(\.type) == [.programPage])
            now += 1
            let actions = link.received(.nack(Nack(ackedType: .programPage, ref: 9, reason: .unexpected)), atMilliseconds: now)
            now += 1
            if restart <= LinkStateMachine.maximumTransferRestarts {
                #expect(Fixtures.sentMessages(actions).map(\.type) == [.programHeader])
            } else {
                #expect(actions.contains(.programGaveUp(revision: 9)))
                #expect(Fixtures.sentMessages(actions).isEmpty && link.isConverged)
            }
        }
    }

    @Test("the connection machine turns a transfer given up into a program mismatch event")
    func gaveUpBecomesMismatch() throws {
        var desired = Fixtures.desired(control: 0)
        desired.program = try Self.program(revision: 9, entries: 20)
        var (machine, _) = try ConnectionStateMachineTests.linked(desired: desired)
        var events: [FleetEvent] = []
        for _ in 0...LinkStateMachine.maximumTransferRestarts {
            _ = machine.received(.ack(Ack(ackedType: .programHeader, ref: 9)), atMilliseconds: 2000)
            for case .emit(let event) in machine.received(.nack(Nack(ackedType: .programPage, ref: 9, reason: .unexpected)), atMilliseconds: 2001) {
                events.append(event)
            }
        }
        #expect(events.contains { if case .program(_, let mismatch?) = $0 { mismatch.contains("revision 9") } else { false } })
    }
}
