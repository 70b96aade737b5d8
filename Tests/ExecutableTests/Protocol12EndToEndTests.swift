import Foundation
import OperatorAPI
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Protocol 1.2 on real links (SPEC.md §5.2, §5.4, §7.1, §8.0, §8.2): lampsim lamps from
/// another database, of older minors, that cannot dim, run no programs or are busy.
@Suite("End to end: protocol 1.2 against lampsim", .serialized)
struct Protocol12EndToEndTests {
    @Test(
        "fresh database, lamps holding version 50 from another one: 'dim all 20' is applied for real, never on the hello",
        arguments: [1, 2])
    func lampsFromAnotherDatabase(minor: Int) async throws {
        let daemon = try Daemon(lamps: 20)
        try await daemon.start()
        // Minor 1: no epoch, so the versions are ahead (§8.0); minor 2: another epoch (§5.4).
        let sim = try Simulator(daemon, count: 20, extra: ["--minor", "\(minor)", "--start-version", "50"])
        try await waitUntil("20 lamps are online") { try await daemon.onlineCount() == 20 }
        let accepted = try await daemon.command(CommandRequest(target: "all", action: "level", level: 20))
        // Before 1.2 the hellos' version 50 counted as applying this command at once, and the
        // lamps stayed at their old level.
        try await waitUntil("every lamp applied the command") { try await daemon.progress(accepted.id).applied == 20 }
        try await waitUntil("every lamp reports 20 %") {
            try await daemon.lamps("").allSatisfy { $0.reported?.level == 20 && $0.converged }
        }
        let lamp = try #require(try await daemon.lamp("lamp-0007"))
        if minor == 1 { #expect(lamp.desired.version > 50) }
        #expect(lamp.reported?.appliedVersion == lamp.desired.version)
        let report = try sim.finish()
        #expect(report.lampDetails.allSatisfy { $0.appliedVersion == lamp.desired.version })
    }

    @Test("lamps that cannot dim, run no programs and answer every second request busy: a dim command still reaches all")
    func capabilitiesAndBusy() async throws {
        let daemon = try Daemon(lamps: 10)
        try await daemon.start()
        let sim = try Simulator(daemon, count: 10, extra: ["--not-dimmable", "--no-programs", "--busy-every", "2"])
        try await waitUntil("10 lamps are online") { try await daemon.onlineCount() == 10 }
        let accepted = try await daemon.command(CommandRequest(target: "all", action: "level", level: 30))
        try await waitUntil("every lamp applied the command", timeout: .seconds(30)) {
            try await daemon.progress(accepted.id).applied == 10
        }
        // Sent as switch (on at full): the lamps show 100 %, and nothing was refused.
        try await waitUntil("every lamp reports full light") {
            try await daemon.lamps("").allSatisfy { $0.reported?.level == 100 }
        }
        #expect(try await daemon.progress(accepted.id).failed == 0)
        #expect(try await daemon.events(lamp: "lamp-0003").allSatisfy { $0.kind != "command.refused" })
        _ = try sim.finish()
    }
}
