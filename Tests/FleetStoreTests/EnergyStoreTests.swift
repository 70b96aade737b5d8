import FleetCore
import FleetStore
import Foundation
import LampProtocol
import Testing

/// The hours of the energy tests (StoreBehaviourTests and EnergyDayTests).
enum EnergyStoreTests {
    /// 2026-11-30T00:00:00Z in hours.
    static let midnight: Int32 = 1_796_032_800 / 3600 - 10

    static func hour(_ lamp: String, _ offset: Int32, used: Double, full: Double, lit: Double) -> EnergyHour {
        EnergyHour(lampID: LampID(lamp)!, hour: midnight + offset, usedWh: used, fullPowerWh: full, litSeconds: lit)
    }
}
