import FleetCore
import LampProtocol
import LightingPrograms
import Testing

/// The program judge on a fleet model: a lamp lit at noon under an all-night program
/// disagrees once, then agrees again; only changes are events.
@Suite("Program judge")
struct ProgramJudgeTests {
    @Test("a lamp lit by day is judged once as 'on by day', and 'match' when it goes dark")
    func judgesChanges() throws {
        // 21 June 2026, 12:00 UTC on the equator at longitude 0: the sun is up.
        let noon: UInt64 = 1_782_043_200_000
        var model = FleetModel(stored: [StoredLamp(record: LampRecord(id: Fixtures.lampID), desired: .initial, reported: nil)])
        model.loadPrograms(
            [ProgramRecord(name: "all-night", revision: 1, source: "sunset on\nsunrise off\n", updatedAtMilliseconds: 0, updatedBy: "t", lampCount: 0)],
            defaults: ProgramDefaults(timeZone: .utc, latitude: 0, longitude: 0))
        _ = model.assignProgram("all-night", to: [0], revision: 2)
        _ = model.linkUp(Fixtures.hello(), atMilliseconds: noon)
        var judge = ProgramJudge()
        var lit = Fixtures.report()
        lit.mode = .program
        model.noteStatus(0, lit, atMilliseconds: noon)
        let first = judge.judge(model, atMilliseconds: noon)
        #expect(first.map(\.event) == [.program(Fixtures.lampID, mismatch: "on by day")])
        #expect(judge.judge(model, atMilliseconds: noon + 60_000).isEmpty)
        var dark = lit
        dark.isLit = false
        dark.level = .off
        model.noteStatus(0, dark, atMilliseconds: noon + 120_000)
        #expect(judge.judge(model, atMilliseconds: noon + 120_000).map(\.event) == [.program(Fixtures.lampID, mismatch: nil)])
        // A lamp under a manual level is not judged.
        _ = model.commit([0], control: DesiredControl(version: 5, intent: .level(.full), fade: .immediate), atMilliseconds: noon)
        model.noteStatus(0, lit, atMilliseconds: noon + 180_000)
        #expect(judge.judge(model, atMilliseconds: noon + 180_000).isEmpty)
    }

    @Test("a lamp on a faster clock of its own (a simulated night) is judged on that clock; a wrong clock at the normal rate on the controller's")
    func judgesOnTheLampsClock() throws {
        // 21 June 2026, 12:00 UTC: the sun is up at (0, 0), and the lamps' clocks say midnight.
        let noon: UInt64 = 1_782_043_200_000
        let lampMidnight = UInt32(noon / 1000) - 12 * 3600
        var model = FleetModel(
            stored: [
                StoredLamp(record: LampRecord(id: Fixtures.lampID), desired: .initial, reported: nil),
                StoredLamp(record: LampRecord(id: LampID("wrong-clock")!), desired: .initial, reported: nil),
            ])
        model.loadPrograms(
            [ProgramRecord(name: "all-night", revision: 1, source: "sunset on\nsunrise off\n", updatedAtMilliseconds: 0, updatedBy: "t", lampCount: 0)],
            defaults: ProgramDefaults(timeZone: .utc, latitude: 0, longitude: 0))
        _ = model.assignProgram("all-night", to: [0, 1], revision: 2)
        _ = model.linkUp(Fixtures.hello(), atMilliseconds: noon)
        _ = model.linkUp(Fixtures.hello(id: LampID("wrong-clock")!), atMilliseconds: noon)
        var judge = ProgramJudge()
        var lit = Fixtures.report()
        lit.level = .full
        lit.clock = lampMidnight
        model.noteStatus(0, lit, atMilliseconds: noon)
        model.noteStatus(1, lit, atMilliseconds: noon)
        // 12 hours off and no rate yet: not judged.
        #expect(judge.judge(model, atMilliseconds: noon).isEmpty)
        // Ten seconds later: lamp 0's clock ran 900 times as fast (02:30 on its clock), lamp 1's at the normal rate.
        lit.clock = lampMidnight + 9000
        model.noteStatus(0, lit, atMilliseconds: noon + 10_000)
        lit.clock = lampMidnight + 10
        model.noteStatus(1, lit, atMilliseconds: noon + 10_000)
        #expect(
            judge.judge(model, atMilliseconds: noon + 10_000).map(\.event) == [.program(LampID("wrong-clock")!, mismatch: "on by day")],
            "lit at its own night, as the program says; the lamp on the normal rate is lit in daylight")
        var dark = lit
        dark.isLit = false
        dark.level = .off
        dark.clock = lampMidnight + 18_000
        model.noteStatus(0, dark, atMilliseconds: noon + 20_000)
        #expect(judge.judge(model, atMilliseconds: noon + 20_000).map(\.event) == [.program(Fixtures.lampID, mismatch: "off at night")])
    }

    @Test("program revisions have a sequence of their own, apart from command versions")
    func programRevisionSequence() {
        var model = FleetModel(stored: [], highestVersion: 41, highestProgramRevision: 0)
        #expect(model.nextVersion() == 42)
        #expect(model.nextProgramRevision() == 1)
        #expect(model.nextProgramRevision() == 2)
        #expect(model.nextVersion() == 43)
    }
}
