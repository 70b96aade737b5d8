import FleetCore
import LampAuth
import LampProtocol

enum Fixtures {
    static let lampID = LampID("lamp-0001")!
    static let fleet = FleetKey(hex: String(repeating: "42", count: 32))!

    static func hello(applied: UInt32 = 0, config: UInt32 = 0, program: UInt32 = 0, id: LampID = lampID) -> Hello {
        Hello(
            lampID: id, firmware: FirmwareVersion("1.0")!, capabilities: [.dimmable, .programs], appliedVersion: applied,
            configVersion: config, programRevision: program, clock: 0, clientNonce: Block16(high: 1, low: 2), mac: .zero)
    }

    static func desired(control version: UInt32, _ intent: ControlIntent = .level(Level(permille: 300)!), config: UInt32 = 1) -> DesiredState {
        var state = DesiredState.initial
        state.control = DesiredControl(version: version, intent: intent, fade: FadeTime(deciseconds: 20))
        state.config.version = config
        return state
    }

    static func sentMessages(_ actions: [LinkStateMachine.Action]) -> [LampMessage] {
        actions.compactMap {
            if case .send(let message) = $0 { return message }
            return nil
        }
    }

    /// A status report at 30 %, by program, with `applied` applied.
    static func report(applied: UInt32 = 0) -> StatusReport {
        StatusReport(
            appliedVersion: applied, level: Level(permille: 300)!, mode: .program, isLit: true, isFading: false, powerDeciwatts: 120,
            energyWattHours: 5, burnSeconds: 60, faults: FaultSet(rawValue: 0), temperatureCelsius: nil, ambientLux: nil,
            programRevision: 0, clock: 0)
    }

    struct NoError: Error {}

    /// The error decoding `bytes` throws.
    static func decodeError(_ bytes: [UInt8]) throws -> LampProtocolError {
        do {
            _ = try LampMessage.decode(bytes)
        } catch {
            return error
        }
        throw NoError()
    }
}
