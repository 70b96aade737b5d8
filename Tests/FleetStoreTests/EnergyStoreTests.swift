import FleetCore
import FleetStore
import Foundation
import LampProtocol
import Testing

@Suite("Hourly energy in the store")
struct EnergyStoreTests {
    /// 2026-11-30T00:00:00Z in hours.
    static let midnight: Int32 = 1_796_032_800 / 3600 - 10

    static func hour(_ lamp: String, _ offset: Int32, used: Double, full: Double, lit: Double) -> EnergyHour {
        EnergyHour(lampID: LampID(lamp)!, hour: midnight + offset, usedWh: used, fullPowerWh: full, litSeconds: lit)
    }

    @Test("batches add up per lamp and hour; totals per hour, day and month, per lamp, group and fleet")
    func totals() throws {
        let (store, _) = try FleetStoreTests.temporaryStore()
        try store.addLamps([FleetStoreTests.record("a", groups: ["north"]), FleetStoreTests.record("b")], atMilliseconds: 1)
        try store.addEnergy([Self.hour("a", 1, used: 10, full: 20, lit: 1800), Self.hour("b", 1, used: 4, full: 4, lit: 360)])
        // A second batch adds to the same hour; an unregistered lamp is skipped.
        try store.addEnergy([Self.hour("a", 1, used: 2.5, full: 5, lit: 600), Self.hour("ghost", 1, used: 99, full: 99, lit: 1)])
        try store.addEnergy([Self.hour("a", 30, used: 1, full: 2, lit: 60)])
        let hours = try store.energy(target: .all, fromHour: Self.midnight, toHour: Self.midnight + 48, step: .hour)
        #expect(hours.map(\.startHour) == [Self.midnight + 1, Self.midnight + 30])
        #expect(hours[0] == EnergyTotal(startHour: Self.midnight + 1, usedWh: 16.5, fullPowerWh: 29, litSeconds: 2760, lamps: 2))
        let days = try store.energy(target: .all, fromHour: Self.midnight, toHour: Self.midnight + 48, step: .day)
        #expect(days.map(\.startHour) == [Self.midnight, Self.midnight + 24])
        #expect(days.map(\.usedWh) == [16.5, 1])
        let month = try store.energy(target: .all, fromHour: Self.midnight - 1000, toHour: Self.midnight + 1000, step: .month)
        // November and December 2026 (UTC): 1 November is 29 days before the 30th.
        #expect(month.map(\.startHour) == [Self.midnight - 29 * 24, Self.midnight + 24])
        #expect(try store.energy(target: .group("north"), fromHour: 0, toHour: .max, step: .day).map(\.usedWh) == [12.5, 1])
        #expect(try store.energy(target: .lamp(LampID("b")!), fromHour: 0, toHour: .max, step: .day).map(\.lamps) == [1])
        // The range's end is not included.
        #expect(try store.energy(target: .all, fromHour: Self.midnight + 2, toHour: Self.midnight + 30, step: .hour).isEmpty)
    }

    @Test("pruning deletes hours before the retention; removing a lamp removes its energy")
    func pruneAndRemove() throws {
        let (store, _) = try FleetStoreTests.temporaryStore()
        try store.addLamps([FleetStoreTests.record("a"), FleetStoreTests.record("b")], atMilliseconds: 1)
        try store.addEnergy([Self.hour("a", 0, used: 1, full: 1, lit: 1), Self.hour("a", 5, used: 2, full: 2, lit: 2), Self.hour("b", 5, used: 3, full: 3, lit: 3)])
        #expect(try store.pruneEnergy(before: Self.midnight + 5) == 1)
        #expect(try store.energy(target: .all, fromHour: 0, toHour: .max, step: .hour).map(\.usedWh) == [5])
        let audit = AuditRecord(atMilliseconds: 2, actor: "t", role: "admin", action: "lamp.remove", target: "b", detail: "", outcome: "ok")
        #expect(try store.removeLamp(LampID("b")!, audit: audit))
        #expect(try store.energy(target: .all, fromHour: 0, toHour: .max, step: .hour).map(\.usedWh) == [2])
    }
}
