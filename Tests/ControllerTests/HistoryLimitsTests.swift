import FleetCore
import FleetStore
import Foundation
import HTTPTypes
import LampAuth
import LampProtocol
import NIOCore
import NIOEmbedded
import NIOWebSocket
import OperatorAPI
import Testing

@testable import Controller

/// Issue 12: every failed hello stored an `auth.failed` row and every 403 an audit row, for
/// ever. Now the first per source (or token and path) a minute is stored, then one summary,
/// and old rows are deleted past their retention.
@Suite("History limits", .serialized)
struct HistoryLimitsTests {
    @Test("1,000 failed hellos from one address store one auth.failed row for unknown ids and one per registered lamp, then a summary each")
    func failedHellosAreThrottled() async throws {
        let gateway = try HandshakeOracleTests.Gateway(limits: HandshakeFailureLimits(
            maximumFailures: 0, windowMilliseconds: 1, firstBackoffMilliseconds: 1, maximumBackoffMilliseconds: 1))
        let shared = gateway.shared
        let wrongKey = HandshakeOracleTests.fleetKey.lampKey(for: LampID("nobody")!)
        for attempt in 0..<1000 {
            let id = attempt % 2 == 0 ? HandshakeOracleTests.lampID : LampID("lamp-x\(attempt)")!
            #expect(try gateway.hello(id, signedWith: wrongKey, from: "10.0.0.9") == LampCloseCode.authenticationFailed)
        }
        await shared.writer.flush()
        var rows = try gateway.store.events(kind: "auth.failed", limit: 10_000)
        #expect(rows.count == 2)
        #expect(rows.first?.detail.contains("from 10.0.0.9") == true, "\(rows)")
        // Another address is a key of its own.
        _ = try gateway.hello(HandshakeOracleTests.lampID, signedWith: wrongKey, from: "10.0.0.10")
        gateway.clock.advance(milliseconds: 60_000)
        await shared.history.sweep()
        await shared.writer.flush()
        rows = try gateway.store.events(kind: "auth.failed", limit: 10_000)
        #expect(rows.count == 5, "\(rows.map(\.detail))")
        let summaries = rows.filter { $0.detail == "499 more failed hellos from 10.0.0.9 in the last 60 s" }
        #expect(Set(summaries.map(\.lampID.value)) == ["lamp-0001", "lamp-x999"], "\(rows.map(\.detail))")
        // The window is over: the next failure is stored again.
        _ = try gateway.hello(HandshakeOracleTests.lampID, signedWith: wrongKey, from: "10.0.0.9")
        await shared.writer.flush()
        #expect(try gateway.store.events(kind: "auth.failed", limit: 10_000).count == 6)
    }

    @Test("failed hellos from more addresses than the table holds share one key: the rows stay bounded")
    func manyAddresses() async throws {
        let gateway = try HandshakeOracleTests.Gateway(limits: HandshakeFailureLimits(
            maximumFailures: 0, windowMilliseconds: 1, firstBackoffMilliseconds: 1, maximumBackoffMilliseconds: 1))
        let wrongKey = HandshakeOracleTests.fleetKey.lampKey(for: LampID("nobody")!)
        for address in 0..<600 {
            _ = try gateway.hello(HandshakeOracleTests.lampID, signedWith: wrongKey, from: "10.3.\(address / 256).\(address % 256)")
        }
        await gateway.shared.writer.flush()
        let limit = HistoryLimits().throttleKeys
        #expect(try gateway.store.events(kind: "auth.failed", limit: 10_000).count == limit + 1)
    }

    @Test("1,000 refused requests of one viewer write one audit row, then one summary")
    func deniedRequestsAreThrottled() async throws {
        let fleet = try await InProcessFleet(lamps: 1)
        try await fleet.withClient { api in
            for _ in 0..<1000 {
                let (status, _) = try await api.call(.post, "/commands", json: #"{"target":"all","action":"on"}"#, as: .viewer, APIError.self)
                #expect(status == 403)
            }
            var (_, denied) = try await api.call(.get, "/audit?action=denied&limit=1000", as: .admin, [AuditView].self)
            #expect(denied?.count == 1)
            fleet.clock.advance(milliseconds: 60_000)
            await fleet.controller.history.sweep()
            (_, denied) = try await api.call(.get, "/audit?action=denied&limit=1000", as: .admin, [AuditView].self)
            #expect(denied?.count == 2)
            #expect(denied?.first?.detail == "999 more refused requests in the last 60 s (last: POST)", "\(String(describing: denied))")
            #expect(denied?.first?.actor == "viewer")
        }
    }

    @Test("events and audit entries past their retention are deleted; newer ones stay")
    func retention() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("retention-\(UUID().uuidString).db").path
        let store = try FleetStore(path: path)
        let day: UInt64 = 86_400_000
        let now: UInt64 = 1_800_000_000_000
        let id = LampID("lamp-1")!
        try store.appendEvents([
            EventRecord(lampID: id, kind: "online", detail: "", atMilliseconds: now - 91 * day),
            EventRecord(lampID: id, kind: "online", detail: "", atMilliseconds: now - 89 * day),
        ])
        for age: UInt64 in [366, 364] {
            try store.appendAudit(AuditRecord(
                atMilliseconds: now - age * day, actor: "a", role: "admin", action: "x", target: "t", detail: "", outcome: "ok"))
        }
        #expect(try store.prune(eventsBefore: now - 90 * day, auditBefore: now - 365 * day) == (1, 1))
        #expect(try store.events(limit: 10).count == 1)
        #expect(try store.audit(actor: nil, action: nil, beforeID: nil, limit: 10).count == 1)
    }
}
