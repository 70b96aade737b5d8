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
}
