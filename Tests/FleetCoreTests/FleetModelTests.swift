import FleetCore
import LampProtocol
import Testing

/// The fleet's domain rules and the command tracker, as plain values: no lock, no store,
/// no socket, no clock.
@Suite("Fleet model and command tracker")
struct FleetModelTests {
    static func model(_ count: Int, online: Int = 0) -> FleetModel {
        var model = FleetModel(
            stored: (1...count).map {
                StoredLamp(record: LampRecord(id: LampID("lamp-\($0)")!, groups: $0 % 2 == 0 ? ["even"] : []), desired: .initial, reported: nil)
            })
        for index in 0..<online {
            _ = model.linkUp(Fixtures.hello(id: model.lamps[index].record.id), atMilliseconds: 1)
        }
        return model
    }

    static func commandEvents(_ events: [FleetEvent]) -> [(CommandProgressSnapshot, Bool)] {
        events.compactMap {
            if case .command(let snapshot, let final) = $0 { return (snapshot, final) }
            return nil
        }
    }

    @Test("a command settles from acks: command.applied once every linked lamp answered, offline lamps pending delivery")
    func trackerSettlesFromAcks() {
        var model = Self.model(4, online: 3)
        let slots = model.resolve(.all) ?? []
        let control = DesiredControl(version: model.nextVersion(), intent: .level(.full), fade: .immediate)
        _ = model.commit(slots, control: control, atMilliseconds: 1000)
        model.track(commandID: 7, target: .all, action: .level(.full, fade: .immediate), version: control.version, slots: slots, atMilliseconds: 1000)
        #expect(model.takeEvents().isEmpty)
        _ = model.noteControlApplied(0, version: control.version, atMilliseconds: 1010)
        // The first answer publishes progress at once; the next within 250 ms waits.
        #expect(Self.commandEvents(model.takeEvents()).map(\.1) == [false])
        _ = model.noteControlApplied(1, version: control.version, atMilliseconds: 1020)
        #expect(model.takeEvents().isEmpty)
        model.noteRefused(2, version: control.version, reason: .unsupported, atMilliseconds: 1030)
        let settled = Self.commandEvents(model.takeEvents())
        #expect(settled.count == 1)
        let (snapshot, final) = settled[0]
        #expect(final)
        #expect(snapshot.applied == 2 && snapshot.failed == 1 && snapshot.offline == 1 && snapshot.pending == 1)
        #expect(snapshot.failedLamps == ["lamp-3"] && snapshot.latenciesMilliseconds == [10, 20])
        // The offline lamp links later claiming that version: no ack of this run proves it (a
        // restored database may have given the number to another state), so it is issued
        // again; its ack of the fresh version counts, with no second command.applied.
        let up = model.linkUp(Fixtures.hello(applied: control.version, id: LampID("lamp-4")!), atMilliseconds: 2000)
        #expect(up?.outcome == .unproven && (up?.desired.control.version ?? 0) > control.version)
        #expect(model.tracker.snapshot(7)?.applied == 2)
        _ = model.noteControlApplied(3, version: up?.desired.control.version ?? 0, atMilliseconds: 2010)
        #expect(model.tracker.snapshot(7)?.applied == 3)
        #expect(model.takeEvents().isEmpty)
    }

    @Test("a lamp that goes offline settles the command; a newer version applied counts for older commands")
    func trackerOfflineAndNewer() {
        var model = Self.model(2, online: 2)
        let slots = model.resolve(.all) ?? []
        let first = model.nextVersion()
        let second = model.nextVersion()
        model.track(commandID: 1, target: .all, action: .switched(on: true, fade: .immediate), version: first, slots: slots, atMilliseconds: 0)
        model.track(commandID: 2, target: .all, action: .switched(on: false, fade: .immediate), version: second, slots: slots, atMilliseconds: 0)
        _ = model.noteControlApplied(0, version: second, atMilliseconds: 5)
        model.linkDown(1, atMilliseconds: 6)
        let events = Self.commandEvents(model.takeEvents())
        #expect(events.filter(\.1).map(\.0.id).sorted() == [1, 2])
        #expect(model.tracker.snapshot(1)?.applied == 1 && model.tracker.snapshot(1)?.offline == 1)
        // Both stay counted for the offline lamp's return.
        #expect(model.tracker.isWaiting && model.tracker.snapshot(2)?.offline == 1)
    }

    @Test("lamps another controller holds count linked (pending their relayed ack), not offline; a lamp whose owner lapses is offline again; once requests are answered there and relayed")
    func trackerCountsLampsHeldElsewhere() {
        // Four lamps: 0 linked here, 1 and 2 held by another controller, 3 nowhere.
        var model = Self.model(4, online: 1)
        model.setHeldElsewhere(1, true, atMilliseconds: 1)
        model.setHeldElsewhere(2, true, atMilliseconds: 1)
        #expect(model.heldElsewhereCount == 2)
        let slots = model.resolve(.all) ?? []
        let version = model.nextVersion()
        model.track(commandID: 1, target: .all, action: .resume(fade: .immediate), version: version, slots: slots, atMilliseconds: 10)
        #expect(model.tracker.snapshot(1)?.offline == 1)
        _ = model.noteControlApplied(0, version: version, atMilliseconds: 11)
        _ = model.noteControlApplied(1, version: version, atMilliseconds: 12)  // relayed
        // Lamp 2 is still pending there: no command.applied yet.
        #expect(!Self.commandEvents(model.takeEvents()).contains { $0.1 })
        // Its owner lapses: offline here, and the command settles.
        model.setHeldElsewhere(2, false, atMilliseconds: 20)
        let settled = Self.commandEvents(model.takeEvents()).filter(\.1)
        #expect(settled.count == 1 && settled.first?.0.offline == 2 && settled.first?.0.applied == 2)
        // It links to another controller again: pending again (offline 1).
        model.setHeldElsewhere(2, true, atMilliseconds: 30)
        #expect(model.tracker.snapshot(1)?.offline == 1)
        // Setting what is already so changes nothing.
        model.setHeldElsewhere(2, true, atMilliseconds: 31)
        #expect(model.tracker.snapshot(1)?.offline == 1)
        // A lamp linked here moves to another controller: its notice comes first, then the
        // link here closes; it stays pending (there), not offline.
        let second = model.nextVersion()
        model.track(commandID: 2, target: .all, action: .resume(fade: .immediate), version: second, slots: slots, atMilliseconds: 40)
        #expect(model.tracker.snapshot(2)?.offline == 1)
        model.setHeldElsewhere(0, true, atMilliseconds: 41)
        model.linkDown(0, atMilliseconds: 41)
        #expect(model.tracker.snapshot(2)?.offline == 1)
        // It links back here: still counted once (not pending twice), and applies.
        _ = model.linkUp(Fixtures.hello(id: LampID("lamp-1")!), atMilliseconds: 50)
        #expect(!model.lamps[0].heldElsewhere && model.tracker.snapshot(2)?.offline == 1)
        for slot in 0..<3 { _ = model.noteControlApplied(slot, version: second, atMilliseconds: 60) }
        let done = Self.commandEvents(model.takeEvents()).filter { $0.0.id == 2 && $0.1 }
        #expect(done.count == 1 && done.first?.0.applied == 3 && done.first?.0.offline == 1)
        // Identify is answered where the lamp is linked, and the answers are relayed: lamps
        // held elsewhere are pending here, as linked ones are; only the unlinked one is missed.
        model.track(commandID: 3, target: .all, action: .identify(seconds: 5), version: 0, slots: slots, atMilliseconds: 70)
        #expect(model.tracker.snapshot(3)?.offline == 1)
        for slot in 0..<3 { model.noteOnceAnswered(slot, ref: 3, accepted: slot != 2, atMilliseconds: 71) }
        let identified = Self.commandEvents(model.takeEvents()).filter { $0.0.id == 3 && $0.1 }
        #expect(identified.count == 1 && identified.first?.0.applied == 2 && identified.first?.0.failed == 1 && identified.first?.0.offline == 1)
        // Reconciling with the rows read whole: lamp 1 lapsed, lamp 3 is held now.
        #expect(model.reconcileHeldElsewhere([2, 3], atMilliseconds: 80) == 2)
        #expect(!model.lamps[1].heldElsewhere && model.lamps[3].heldElsewhere && model.heldElsewhereCount == 2)
        #expect(model.reconcileHeldElsewhere([2, 3], atMilliseconds: 81) == 0)
    }

    @Test("lamps another controller changed, read back: new ones added, changed ones updated (groups, revocation), removed ones removed")
    func reloadFromAnotherController() {
        var model = Self.model(3, online: 3)
        let (one, two, three, four) = (LampID("lamp-1")!, LampID("lamp-2")!, LampID("lamp-3")!, LampID("lamp-4")!)
        var changed = model.lamps[0].record
        changed.groups = ["harbour"]
        changed.name = "quay 1"
        var revoked = model.lamps[1].record
        revoked.revoked = true
        let added = StoredLamp(record: LampRecord(id: four, groups: ["harbour"]), desired: .initial, reported: nil)
        let outcome = model.reload(
            [one, two, three, four, four],
            stored: [StoredLamp(record: changed, desired: .initial, reported: nil), StoredLamp(record: revoked, desired: .initial, reported: nil), added],
            atMilliseconds: 5)
        #expect(outcome.removed == [2] && outcome.revoked == [1] && outcome.updated == [0, 1])
        #expect(model.resolve(.group("harbour")).map { $0.map { model.lamps[$0].record.id } } == [one, four])
        #expect(model.lamps[0].record.name == "quay 1" && model.lamps[1].record.revoked)
        #expect(model.slot(of: three) == nil && model.registeredIDs == [one, two, four])
        // Reading the same again changes nothing more.
        let again = model.reload([one, two, four], stored: [StoredLamp(record: changed, desired: .initial, reported: nil), StoredLamp(record: revoked, desired: .initial, reported: nil), added], atMilliseconds: 6)
        #expect(again.removed.isEmpty && again.revoked.isEmpty && again.deliveries.isEmpty && model.registeredIDs.count == 3)
    }

    @Test("progress held back by the rate limit is published later by publishDue")
    func trackerPublishesDue() {
        var model = Self.model(3, online: 3)
        let slots = model.resolve(.all) ?? []
        let version = model.nextVersion()
        model.track(commandID: 3, target: .all, action: .resume(fade: .immediate), version: version, slots: slots, atMilliseconds: 0)
        _ = model.noteControlApplied(0, version: version, atMilliseconds: 1)
        _ = model.noteControlApplied(1, version: version, atMilliseconds: 2)
        _ = model.takeEvents()
        model.publishDueProgress(atMilliseconds: 100)
        #expect(model.takeEvents().isEmpty)
        model.publishDueProgress(atMilliseconds: 251)
        let due = Self.commandEvents(model.takeEvents())
        #expect(due.count == 1 && due[0].0.applied == 2 && !due[0].1)
    }

    @Test("identify: lamps offline when it is sent are offline, not refused; answers count")
    func onceCommand() {
        var model = Self.model(3, online: 2)
        let slots = model.resolve(.all) ?? []
        model.track(commandID: 0x1_0000_0005, target: .all, action: .identify(seconds: 10), version: 0, slots: slots, atMilliseconds: 0)
        model.noteOnceAnswered(0, ref: 5, accepted: true, atMilliseconds: 3)
        model.noteOnceAnswered(1, ref: 6, accepted: true, atMilliseconds: 3)
        #expect(model.tracker.snapshot(0x1_0000_0005)?.applied == 1)
        model.noteOnceAnswered(1, ref: 5, accepted: false, atMilliseconds: 4)
        let settled = Self.commandEvents(model.takeEvents()).filter(\.1)
        #expect(settled.count == 1)
        #expect(settled.first?.0.failed == 1 && settled.first?.0.offline == 1 && settled.first?.0.applied == 1)
    }

    @Test("groups change in the model; a commit never lowers a version")
    func groupsAndVersions() {
        var model = Self.model(4)
        #expect(model.memberCount(of: "even") == 2)
        model.changeMembers(of: "even", add: [LampID("lamp-1")!], remove: [LampID("lamp-2")!, LampID("nobody")!])
        #expect(model.resolve(.group("even"))?.map { model.lamps[$0].record.id.value } == ["lamp-1", "lamp-4"])
        model.removeGroup("even")
        #expect(model.resolve(.group("even")) == [])
        let newer = DesiredControl(version: 9, intent: .program, fade: .immediate)
        let older = DesiredControl(version: 8, intent: .switched(on: true), fade: .immediate)
        #expect(model.commit([0], control: newer, atMilliseconds: 1).count == 1)
        #expect(model.commit([0], control: older, atMilliseconds: 2).isEmpty)
        #expect(model.lamps[0].desired.control == newer)
    }

    @Test("actions render for the audit log and read back", arguments: [
        CommandAction.level(Level(permille: 305)!, fade: FadeTime(deciseconds: 20)), .switched(on: true, fade: .immediate),
        .switched(on: false, fade: FadeTime(deciseconds: 255)), .override(.full, seconds: 600, fade: .immediate), .resume(fade: .immediate),
        .identify(seconds: 10), .reboot,
    ])
    func actionsRoundTrip(action: CommandAction) {
        #expect(CommandAction(parsing: action.description) == action)
    }

    @Test("unknown action texts are refused", arguments: ["", "level", "level 30% fade 0.0s", "on fade", "dance", "reboot now", "identify for 70000s"])
    func actionsRefused(text: String) {
        #expect(CommandAction(parsing: text) == nil)
    }

    @Test("one registration rule: fields named, latitude and longitude together")
    func registrationRule() throws {
        let valid = try LampRecord.validated(id: "q1", name: nil, latitude: -33.86, longitude: 151.2, wattage: 60, groups: ["pier"])
        #expect(valid.latitude == -33.86 && valid.groups == ["pier"])
        let cases: [(String, Double?, Double?, Double?, [String], String)] = [
            ("bad id!", nil, nil, nil, [], "id"), ("q2", 52.1, nil, nil, [], "longitude"), ("q3", nil, 4.3, nil, [], "latitude"),
            ("q4", 91, 0, nil, [], "latitude"), ("q5", 0, 181, nil, [], "longitude"), ("q6", nil, nil, 7000, [], "wattage"),
            ("q7", nil, nil, nil, ["no spaces"], "groups"), ("q8", .nan, 0, nil, [], "latitude"),
        ]
        for (id, latitude, longitude, wattage, groups, field) in cases {
            #expect(throws: FleetError.self, "\(id)") {
                try LampRecord.validated(id: id, name: nil, latitude: latitude, longitude: longitude, wattage: wattage, groups: groups)
            }
            do {
                _ = try LampRecord.validated(id: id, name: nil, latitude: latitude, longitude: longitude, wattage: wattage, groups: groups)
            } catch {
                #expect(error.field == field && error.kind == .invalid, "\(id): \(error)")
            }
        }
    }
}
