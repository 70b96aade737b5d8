import FleetCore
import Foundation
import LampProtocol
import OperatorAPI

extension FleetService {
    /// Now, on the fleet's clock.
    public var now: Date { Date(unixMilliseconds: clock.nowMilliseconds()) }

    /// The most rows one energy request may return.
    public static let maximumEnergyRows = 10_000

    /// Energy of `target` (`all`, `group:NAME`, a lamp id or `lamp:ID`) in `from..<to`, per
    /// `step` (UTC). An unknown lamp or group is not found; from must be before to, and the
    /// range may hold at most ``maximumEnergyRows`` steps.
    public func energy(target text: String, from: Date, to: Date, step: EnergyStep) async throws(FleetError) -> EnergyReport {
        let target: CommandTarget
        if let parsed = CommandTarget(text) {
            target = parsed
        } else if let id = LampID(text) {
            target = .lamp(id)
        } else {
            throw .invalid("must be all, group:NAME or a lamp id", field: "target")
        }
        switch target {
        case .all: break
        case .lamp(let id):
            guard fleet.entry(id) != nil else { throw .notFound("no lamp \(id) is registered", field: "target") }
        case .group(let name):
            guard try await groups().contains(where: { $0.name == name }) else { throw .notFound("no group \(name)", field: "target") }
        }
        guard from < to else { throw .invalid("must be after from", field: "to") }
        let fromHour = EnergyMeter.hour(UInt64(max(0, from.timeIntervalSince1970 * 1000)))
        let toHour = EnergyMeter.hourEnding(UInt64(max(0, (to.timeIntervalSince1970 * 1000).rounded(.up))))
        let steps: Int
        switch step {
        case .hour: steps = Int(toHour - fromHour)
        case .day: steps = Int(toHour - fromHour) / 24 + 1
        case .month: steps = Int(toHour - fromHour) / (24 * 28) + 1
        }
        guard steps <= Self.maximumEnergyRows else {
            throw .invalid("the range holds \(steps) steps of a \(step.rawValue), more than \(Self.maximumEnergyRows): shorten it or take a longer step", field: "from")
        }
        let totals = try await storing("reading energy") {
            try await store.energy(target: target, fromHour: fromHour, toHour: toHour, step: step)
        }
        let rows = totals.map { total in
            EnergyRow(
                start: Date(timeIntervalSince1970: Double(total.startHour) * 3600), usedWh: total.usedWh, fullPowerWh: total.fullPowerWh,
                savedWh: total.fullPowerWh - total.usedWh, litHours: total.litSeconds / 3600, lamps: total.lamps)
        }
        let used = rows.reduce(0) { $0 + $1.usedWh }
        let full = rows.reduce(0) { $0 + $1.fullPowerWh }
        let total = EnergyRow(
            start: from, usedWh: used, fullPowerWh: full, savedWh: full - used, litHours: rows.reduce(0) { $0 + $1.litHours },
            lamps: rows.map(\.lamps).max() ?? 0)
        return EnergyReport(target: text, step: step.rawValue, from: from, to: to, rows: rows, total: total)
    }
}
