import Foundation
import OperatorAPI
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// SPEC.md §4.3 on real links: a man in the middle between lampsim and lamplighterd rewrites,
/// replays or swaps one frame; the side that receives it closes with 4006 and does not act
/// on it, and the lamp ends where the operator asked once it has reconnected.
@Suite("End to end: authenticated frames against a man in the middle", .serialized)
struct FrameAuthenticationTests {
    /// A daemon, one lamp behind `tamper`, and a command to 20 % that must end applied.
    static func run(_ tamper: TamperingProxy.Tamper) async throws -> (proxy: TamperingProxy, report: Simulator.Report, metrics: String) {
        let daemon = try Daemon(lamps: 1)
        try await daemon.start()
        let proxy = try TamperingProxy(upstreamPort: daemon.lampPort, tamper: tamper)
        defer { proxy.stop() }
        let sim = try Simulator(daemon, count: 1, url: proxy.lampURL)
        try await waitUntil("the lamp is online through the proxy") { try await daemon.onlineCount() == 1 }
        let accepted = try await daemon.command(CommandRequest(target: "all", action: "level", level: 20))
        try await waitUntil("the proxy changed a frame") { proxy.tampered }
        try await waitUntil("the lamp applied the command", timeout: .seconds(30)) {
            try await daemon.progress(accepted.id).applied == 1
        }
        try await waitUntil("the lamp reports 20 %", timeout: .seconds(30)) {
            try await daemon.lamp("lamp-0001")?.reported?.level == 20
        }
        let url = try #require(URL(string: daemon.api.replacingOccurrences(of: "/api/v1", with: "/metrics")))
        let (data, _) = try await URLSession.shared.data(from: url)
        return (proxy, try sim.finish(), String(decoding: data, as: UTF8.self))
    }

    @Test("a setLevel whose level the proxy rewrote (20 % to 100 %): the lamp closes with 4006 and never shows 100 %")
    func rewrittenSetLevel() async throws {
        let (proxy, report, _) = try await Self.run(.rewriteSetLevel(toPermille: 1000))
        #expect(proxy.closes.first == TamperingProxy.Close(fromLamp: true, code: 4006))
        #expect(report.frameAuthenticationFailed == 1)
        // Had the lamp applied the forged frame, it would have acked the version: the
        // controller would count it applied at 100 % and never send it again.
        #expect(report.lampDetails.first?.level == 200)
    }

    @Test("a setLevel the proxy delivered twice: the lamp applies the first and closes with 4006 at the replay")
    func replayedSetLevel() async throws {
        let (proxy, report, _) = try await Self.run(.replaySetLevel)
        #expect(proxy.closes.first == TamperingProxy.Close(fromLamp: true, code: 4006))
        #expect(report.frameAuthenticationFailed == 1)
        #expect(report.lampDetails.first?.level == 200)
    }

    @Test("the lamp's ack and report swapped by the proxy: the controller closes with 4006 and counts it")
    func swappedFrames() async throws {
        let (proxy, report, metrics) = try await Self.run(.swapAfterSetLevel)
        #expect(proxy.closes.first == TamperingProxy.Close(fromLamp: false, code: 4006))
        #expect(report.closedFrameAuthentication == 1)
        #expect(report.frameAuthenticationFailed == 0)
        #expect(metrics.split(separator: "\n").contains("lamplighter_links_closed_frame_authentication_total 1"))
    }
}
