import Controller
import FleetCore
import FleetStore
import LampProtocol
import OperatorAPI
import Testing

@Suite("Fleet state, targets and command versions")
struct FleetStateTests {
    static func fleet(_ ids: [String], groups: [String] = []) -> FleetState {
        FleetState(
            stored: ids.map {
                StoredLamp(record: LampRecord(id: LampID($0)!, groups: groups), desired: .initial, reported: nil)
            })
    }

    @Test("targets parse strictly", arguments: ["all", "lamp:a", "group:north"])
    func targetsParse(text: String) {
        #expect(CommandTarget(text)?.description == text)
    }

    @Test("malformed targets are refused", arguments: ["", "All", "lamp:", "lamp:a b", "group:", "street:1", "lamp:" + String(repeating: "x", count: 33)])
    func targetsRefused(text: String) {
        #expect(CommandTarget(text) == nil)
    }

    @Test("resolve: one lamp, a group, all; an unknown lamp is nil, an empty group empty")
    func resolve() {
        let fleet = Self.fleet(["b", "a"], groups: ["north"])
        fleet.withModel { $0.add([StoredLamp(record: LampRecord(id: LampID("c")!), desired: .initial, reported: nil)]) }
        let ids = { (slots: [Int]?) in fleet.withEntries { entries in slots?.map { entries[$0].record.id.value } } }
        #expect(ids(fleet.resolve(.all)) == ["a", "b", "c"])
        #expect(ids(fleet.resolve(.group("north"))) == ["a", "b"])
        #expect(ids(fleet.resolve(.lamp(LampID("c")!))) == ["c"])
        #expect(fleet.resolve(.group("south")) == [])
        #expect(fleet.resolve(.lamp(LampID("zz")!)) == nil)
    }

    @Test("versions come from one increasing sequence; a late commit of an older one is ignored")
    func versions() {
        let fleet = FleetState(
            stored: [StoredLamp(record: LampRecord(id: LampID("a")!), desired: .initial, reported: nil)], highestVersion: 41)
        let older = DesiredControl(version: fleet.nextVersion(), intent: .level(.full), fade: .immediate)
        let newer = DesiredControl(version: fleet.nextVersion(), intent: .switched(on: false), fade: .immediate)
        #expect(older.version == 42 && newer.version == 43)
        #expect(fleet.withModel { $0.commit([0], control: newer, atMilliseconds: 1) }.count == 1)
        #expect(fleet.withModel { $0.commit([0], control: older, atMilliseconds: 2) }.isEmpty)
        #expect(fleet.entry(LampID("a")!)?.desired.control == newer)
        // A version whose write failed leaves a gap, never a reuse.
        _ = fleet.nextVersion()
        #expect(fleet.nextVersion() == 45)
    }

    @Test("latency summaries use nearest-rank percentiles")
    func latency() {
        #expect(LatencySummary(milliseconds: []) == nil)
        let summary = LatencySummary(milliseconds: Array(1...100))
        #expect(summary?.p50 == 50 && summary?.p99 == 99 && summary?.max == 100 && summary?.count == 100)
        #expect(LatencySummary(milliseconds: [7])?.p99 == 7)
    }
}
