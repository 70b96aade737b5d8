import FleetCore
import LampProtocol
import Testing

/// Hourly energy from consecutive reports: spread over the hours between them in proportion
/// to time, nothing for a counter reset, nothing invented.
@Suite("Energy meter")
struct EnergyMeterTests {
    /// 2026-11-30T10:00:00Z, an hour boundary.
    static let ten: UInt64 = 1_796_032_800_000
    static let hour = EnergyMeter.hour(ten)

    static func buckets(
        _ from: (UInt64, UInt32, UInt32), _ to: (UInt64, UInt32, UInt32), wattage: Double? = 100
    ) -> [(hour: Int32, used: Double, full: Double, lit: Double)] {
        var out: [(hour: Int32, used: Double, full: Double, lit: Double)] = []
        EnergyMeter.spread(
            from: EnergyReading(atMilliseconds: from.0, energyWattHours: from.1, burnSeconds: from.2),
            to: EnergyReading(atMilliseconds: to.0, energyWattHours: to.1, burnSeconds: to.2), wattage: wattage
        ) { out.append(($0, $1, $2, $3)) }
        return out
    }

    @Test("two reports within one hour: the whole delta in that hour; full power is lit time at the wattage")
    func withinAnHour() {
        let out = Self.buckets((Self.ten + 60_000, 1000, 7200), (Self.ten + 660_000, 1005, 7800))
        #expect(out.count == 1)
        #expect(out[0].hour == Self.hour && out[0].used == 5 && out[0].lit == 600)
        #expect(abs(out[0].full - 100 * 600 / 3600) < 1e-9)
    }

    @Test("a report across an hour boundary splits the delta by the time on each side")
    func acrossABoundary() {
        // 10:45 to 11:15: half each.
        let out = Self.buckets((Self.ten + 2_700_000, 0, 0), (Self.ten + 4_500_000, 10, 1800))
        #expect(out.map(\.hour) == [Self.hour, Self.hour + 1])
        #expect(out.map(\.used) == [5, 5] && out.map(\.lit) == [900, 900])
        // Exactly on the boundary: the report at 11:00:00 belongs to the interval ending then,
        // all in the 10:00 hour.
        let edge = Self.buckets((Self.ten + 1_800_000, 0, 0), (Self.ten + 3_600_000, 6, 0))
        #expect(edge.count == 1 && edge[0].hour == Self.hour && edge[0].used == 6)
    }

    @Test("a gap while offline spreads the counter's delta over the gap's hours in proportion, never more than it says")
    func gap() {
        // 10:30 to 13:30: 30 min, 60, 60, 30 min of 30 Wh.
        let out = Self.buckets((Self.ten + 1_800_000, 100, 0), (Self.ten + 12_600_000, 130, 0))
        #expect(out.map(\.hour) == [Self.hour, Self.hour + 1, Self.hour + 2, Self.hour + 3])
        #expect(out.map(\.used) == [5, 10, 10, 5])
        #expect(out.reduce(0) { $0 + $1.used } == 30)
    }

    @Test("a counter that went backwards (a reset) counts nothing for that interval")
    func reset() {
        #expect(Self.buckets((Self.ten, 5000, 100), (Self.ten + 60_000, 3, 200)).isEmpty)
        #expect(Self.buckets((Self.ten, 5000, 100), (Self.ten + 60_000, 5001, 10)).isEmpty)
        // Unchanged counters: nothing either.
        #expect(Self.buckets((Self.ten, 5000, 100), (Self.ten + 60_000, 5000, 100)).isEmpty)
    }

    @Test("a lamp with no wattage counts its used energy as full power; a clock that went back puts it all in the report's hour")
    func noWattageAndClockBack() {
        let out = Self.buckets((Self.ten + 60_000, 0, 0), (Self.ten + 120_000, 7, 60), wattage: nil)
        #expect(out.count == 1 && out[0].full == 7)
        let back = Self.buckets((Self.ten + 3_700_000, 0, 0), (Self.ten + 60_000, 3, 60))
        #expect(back.count == 1 && back[0].hour == Self.hour && back[0].used == 3)
    }

    @Test("the fleet model keeps a lamp's open hour, closes it when the hour changes, and hands both over once")
    func model() throws {
        let id = LampID("lamp-0001")!
        var model = FleetModel(stored: [StoredLamp(record: LampRecord(id: id, wattage: 40), desired: .initial, reported: nil)])
        func report(_ energy: UInt32, _ burn: UInt32) -> StatusReport {
            var report = Fixtures.report()
            report.energyWattHours = energy
            report.burnSeconds = burn
            return report
        }
        // The first report is the baseline: nothing yet.
        model.noteStatus(0, report(100, 0), atMilliseconds: Self.ten + 1_800_000)
        #expect(model.takeEnergy().isEmpty)
        model.noteStatus(0, report(104, 360), atMilliseconds: Self.ten + 2_400_000)
        model.noteStatus(0, report(110, 900), atMilliseconds: Self.ten + 3_000_000)
        // Across the boundary (10:50 to 11:10): 2 Wh each side.
        model.noteStatus(0, report(114, 1200), atMilliseconds: Self.ten + 4_200_000)
        let taken = model.takeEnergy()
        #expect(taken.map(\.hour) == [Self.hour, Self.hour + 1])
        #expect(taken.map(\.usedWh) == [12, 2])
        #expect(taken.map(\.litSeconds) == [1050, 150])
        #expect(abs(taken[0].fullPowerWh - 1050 * 40 / 3600) < 1e-9)
        // Taken once: the open hour starts again from zero.
        #expect(model.takeEnergy().isEmpty)
        model.noteStatus(0, report(115, 1200), atMilliseconds: Self.ten + 4_500_000)
        let more = model.takeEnergy()
        #expect(more.count == 1 && more[0].hour == Self.hour + 1 && more[0].usedWh == 1)
        // A failed write is handed back and taken again.
        model.returnEnergy(more)
        #expect(model.takeEnergy() == more)
    }

    @Test("an hour's end: a time on the boundary ends before that hour, a time inside it includes it")
    func hourEnding() {
        #expect(EnergyMeter.hourEnding(Self.ten) == Self.hour)
        #expect(EnergyMeter.hourEnding(Self.ten + 1) == Self.hour + 1)
        #expect(EnergyMeter.hourEnding(Self.ten + 3_599_999) == Self.hour + 1)
        #expect(EnergyMeter.hourEnding(0) == 0)
        #expect(EnergyMeter.hourEnding(.max) == .max)
    }

    @Test("energy whose write keeps failing is held up to the bound; beyond it the oldest is dropped and counted")
    func returnedEnergyIsBounded() {
        var model = FleetModel(stored: [])
        model.maximumHeldEnergyHours = 3
        func energy(_ hours: ClosedRange<Int32>) -> [EnergyHour] {
            hours.map { EnergyHour(lampID: LampID("lamp-0001")!, hour: $0, usedWh: 1.5, fullPowerWh: 2, litSeconds: 60) }
        }
        #expect(model.returnEnergy(energy(1...3)) == DroppedEnergy())
        let held = model.takeEnergy()
        #expect(held.map(\.hour) == [1, 2, 3])
        // The next write fails too, with two newer hours: the two oldest go.
        let dropped = model.returnEnergy(held + energy(4...5))
        #expect(dropped.lampHours == 2 && dropped.usedWh == 3)
        #expect(model.takeEnergy().map(\.hour) == [3, 4, 5])
        // A bound lowered below what is held: the returned hours, then the held oldest go.
        #expect(model.returnEnergy(energy(6...8)) == DroppedEnergy())
        model.maximumHeldEnergyHours = 1
        let lowered = model.returnEnergy(energy(9...9))
        #expect(lowered.lampHours == 3 && lowered.usedWh == 4.5)
        #expect(model.takeEnergy().map(\.hour) == [8])
        // A bound of zero holds nothing.
        model.maximumHeldEnergyHours = 0
        #expect(model.returnEnergy(energy(1...4)).lampHours == 4)
        #expect(model.takeEnergy().isEmpty)
    }
}
