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
        fleet.add([StoredLamp(record: LampRecord(id: LampID("c")!), desired: .initial, reported: nil)])
        #expect(fleet.resolve(.all) == [LampID("a")!, LampID("b")!, LampID("c")!])
        #expect(fleet.resolve(.group("north")) == [LampID("a")!, LampID("b")!])
        #expect(fleet.resolve(.group("south")) == [])
        #expect(fleet.resolve(.lamp(LampID("zz")!)) == nil)
    }

    @Test("versions only increase: reserved ones are never reused, a late commit of an older one is ignored")
    func versions() {
        let fleet = Self.fleet(["a"])
        let first = fleet.reserve([LampID("a")!], intent: .level(.full), fade: .immediate)
        let second = fleet.reserve([LampID("a")!], intent: .switched(on: false), fade: .immediate)
        #expect(first[0].1.control.version == 1 && second[0].1.control.version == 2)
        fleet.commit(second)
        fleet.commit(first)
        #expect(fleet.entry(LampID("a")!)?.desired.control.intent == .switched(on: false))
        // A reservation whose write failed leaves a gap, never a reuse.
        _ = fleet.reserve([LampID("a")!], intent: .program, fade: .immediate)
        #expect(fleet.reserve([LampID("a")!], intent: .program, fade: .immediate)[0].1.control.version == 4)
    }

    @Test("latency summaries use nearest-rank percentiles")
    func latency() {
        #expect(LatencySummary(milliseconds: []) == nil)
        let summary = LatencySummary(milliseconds: Array(1...100))
        #expect(summary?.p50 == 50 && summary?.p99 == 99 && summary?.max == 100 && summary?.count == 100)
        #expect(LatencySummary(milliseconds: [7])?.p99 == 7)
    }
}
