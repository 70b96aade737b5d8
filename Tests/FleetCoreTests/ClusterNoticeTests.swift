import FleetCore
import LampProtocol
import Testing

/// The notices controllers on one database send each other (docs/cluster.md).
@Suite("Cluster notices")
struct ClusterNoticeTests {
    @Test("a command notice and applied versions read back as sent; applied versions split under the payload limit")
    func roundTrip() throws {
        let command = ClusterNotice.command(instance: "ctl-a", id: 42)
        #expect(command.payloads().map { ClusterNotice(payload: $0) } == [command])
        let lamps = (1...2_000).map { ClusterNotice.LampApplied(lamp: LampID("street-lamp-\($0)")!, version: UInt32(1_000_000 + $0)) }
        let payloads = ClusterNotice.applied(instance: "ctl-b", lamps).payloads()
        #expect(payloads.count > 1)
        #expect(payloads.allSatisfy { $0.utf8.count <= ClusterLimits.maximumPayloadBytes })
        var back: [ClusterNotice.LampApplied] = []
        for payload in payloads {
            guard case .applied(let instance, let entries) = try #require(ClusterNotice(payload: payload)) else { Issue.record("not applied"); return }
            #expect(instance == "ctl-b")
            back += entries
        }
        #expect(back == lamps)
        #expect(ClusterNotice.applied(instance: "x", []).payloads().isEmpty)
        // A small limit still gives one lamp per payload rather than nothing.
        #expect(ClusterNotice.applied(instance: "x", Array(lamps.prefix(3))).payloads(limit: 10).count == 3)
    }

    @Test("foreign, damaged and oversized payloads are not notices")
    func hostile() {
        for payload in [
            "", "c", "c a", "c a 0", "c a -1", "c a x", "c a 1 2", "x a 1", "c  1", "c a\u{0} 1", "a a ", "a a lamp-1", "a a lamp-1=0",
            "a a lamp-1=4294967296", "a a lamp 1=3", "a a lamp-1=3,", "c " + String(repeating: "i", count: 65) + " 1",
            "a a " + Array(repeating: "lamp-1=1", count: 1_000).joined(separator: ","),
        ] {
            #expect(ClusterNotice(payload: payload) == nil, "\(payload.prefix(40))")
        }
    }
}
