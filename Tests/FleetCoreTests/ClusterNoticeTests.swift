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
        // Ownership taken and given up: split the same way, read back as the same kind.
        let ids = (1...1_000).map { LampID("street-lamp-\($0)")! }
        for notice in [ClusterNotice.owned(instance: "ctl-b", claim: 9_000_000_001, ids), .released(instance: "ctl-b", ids), .lamps(instance: "ctl-b", ids)] {
            let parts = notice.payloads()
            #expect(parts.count > 1 && parts.allSatisfy { $0.utf8.count <= ClusterLimits.maximumPayloadBytes })
            var lamps: [LampID] = []
            for payload in parts {
                switch try #require(ClusterNotice(payload: payload)) {
                case .owned(_, let claim, let some) where notice == .owned(instance: "ctl-b", claim: 9_000_000_001, ids):
                    // Every part carries the claim's number.
                    #expect(claim == 9_000_000_001)
                    lamps += some
                case .released(_, let some) where notice == .released(instance: "ctl-b", ids): lamps += some
                case .lamps(_, let some) where notice == .lamps(instance: "ctl-b", ids): lamps += some
                default: Issue.record("\(payload.prefix(20)) read back as another kind")
                }
            }
            #expect(lamps == ids)
        }
        #expect(ClusterNotice.released(instance: "x", []).payloads().isEmpty)
        // Answers other than acks.
        let answers = [
            ClusterNotice.LampAnswer(lamp: ids[0], kind: .once(ref: 4_000_000_000, accepted: true)),
            ClusterNotice.LampAnswer(lamp: ids[1], kind: .once(ref: 7, accepted: false)),
            ClusterNotice.LampAnswer(lamp: ids[2], kind: .refused(version: 12, reason: 3)),
        ]
        #expect(ClusterNotice.answered(instance: "ctl-b", answers).payloads().compactMap { ClusterNotice(payload: $0) } == [.answered(instance: "ctl-b", answers)])
        // Programs by name (up to 64 bytes, longer than a lamp id may be).
        let names = ["all-night", String(repeating: "n", count: 64)]
        #expect(ClusterNotice.programs(instance: "ctl-a", names).payloads().compactMap { ClusterNotice(payload: $0) } == [.programs(instance: "ctl-a", names)])
        // A small limit still gives one lamp per payload rather than nothing.
        #expect(ClusterNotice.applied(instance: "x", Array(lamps.prefix(3))).payloads(limit: 10).count == 3)
    }

    @Test("foreign, damaged and oversized payloads are not notices")
    func hostile() {
        for payload in [
            "", "c", "c a", "c a 0", "c a -1", "c a x", "c a 1 2", "x a 1", "c  1", "c a\u{0} 1", "a a ", "a a lamp-1", "a a lamp-1=0",
            "a a lamp-1=4294967296", "a a lamp 1=3", "a a lamp-1=3,", "r a ", "r a lamp-1,", "l a ", "l a lamp-1,", "l a lamp/1", "r a lamp 1", "o a lamp-1,,lamp-2", "o a lamp-1", "o a 0 lamp-1", "o a -3 lamp-1", "o a x lamp-1", "o a 1 lamp-1 2", "n a ", "n a lamp-1=o7", "n a lamp-1=o+", "n a lamp-1=x7+", "n a lamp-1=r0.3", "n a lamp-1=r5.256", "n a lamp-1=r5", "p a ", "p a bad/name", "p a x,", "p a " + String(repeating: "n", count: 65), "c " + String(repeating: "i", count: 65) + " 1",
            "a a " + Array(repeating: "lamp-1=1", count: 1_000).joined(separator: ","),
        ] {
            #expect(ClusterNotice(payload: payload) == nil, "\(payload.prefix(40))")
        }
    }
    @Test("the event cursor: rows new once each; a skipped id is asked for until it comes or its wait ends; a huge skip keeps a bounded list")
    func eventCursor() {
        var cursor = EventCursor(after: 10)
        #expect(cursor.take([11, 14], atMilliseconds: 0) == [true, true])
        #expect(cursor.last == 14 && cursor.gapIDs == [12, 13])
        // 13 commits late: new once; reading it again is not new.
        #expect(cursor.take([13, 15], atMilliseconds: 100) == [true, true])
        #expect(cursor.take([13], atMilliseconds: 150) == [false])
        #expect(cursor.gapIDs == [12] && cursor.givenUp == 0)
        // 12 never comes (a rolled-back insert): given up after the wait.
        _ = cursor.take([], atMilliseconds: ClusterLimits.eventGapWaitMilliseconds)
        #expect(cursor.gapIDs.isEmpty && cursor.givenUp == 1)
        // A million ids burned at once: only the nearest are asked for.
        let far = cursor.last + 1_000_001
        #expect(cursor.take([far], atMilliseconds: 3_000) == [true])
        #expect(cursor.gapIDs.count == ClusterLimits.maximumEventGaps && cursor.givenUp == 1 + 1_000_000 - ClusterLimits.maximumEventGaps)
        #expect(cursor.gapIDs.first == far - Int64(ClusterLimits.maximumEventGaps))
    }
}
