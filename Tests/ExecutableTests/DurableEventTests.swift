import Foundation
import LampCSV
import LampProtocol
import OperatorAPI
import Testing

/// A lamp's events against the real daemon: acknowledged means durable (SPEC.md §7.2).
@Suite("Lamp events survive kill -9", .serialized)
struct DurableEventTests {
    @Test("50 events acknowledged, then kill -9: after the restart all 50 are in the store")
    func acknowledgedEventsSurviveKill() async throws {
        let daemon = try Daemon(lamps: 1)
        try await daemon.start()
        let id = LampCSV.numberedIDs(prefix: "lamp-", start: 1, count: 1)[0]
        let lamp = try RawLamp(port: daemon.lampPort, id: id, keyFile: daemon.keyFile)
        let time = UInt32(Date().timeIntervalSince1970)
        for sequence in UInt32(1)...50 {
            try lamp.send(.event(LampEvent(sequence: sequence, kind: sequence % 2 == 1 ? .faultRaised : .faultCleared, detail: 0, time: time)))
        }
        var acknowledged: Set<UInt32> = []
        while acknowledged.count < 50 {
            if case .ack(let ack) = try lamp.receive(), ack.ackedType == .event { acknowledged.insert(ack.ref) }
        }
        // The moment the lamp has its 50 acks (and would forget the events), the daemon dies.
        daemon.kill9()
        try await daemon.start()
        let stored = try await daemon.events(lamp: id).filter { $0.kind.hasPrefix("fault.") }
        #expect(stored.count == 50)
    }
}
