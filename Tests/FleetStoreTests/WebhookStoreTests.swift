import FleetCore
import FleetStore
import Foundation
import Testing

/// Webhooks and their outbox in the SQLite store (migration "v12: webhooks").
@Suite("FleetStore: webhooks and the outbox")
struct WebhookStoreTests {
    static let audit = AuditRecord(atMilliseconds: 1, actor: "t", role: "admin", action: "webhook.create", target: "webhook", detail: "", outcome: "ok")

    static func hook(_ store: FleetStore) throws -> WebhookRecord {
        try store.addWebhook(
            WebhookRecord(id: 0, url: "http://127.0.0.1:9/", secret: "s", events: ["*"], targets: ["all"], createdAtMilliseconds: 1, createdBy: "t"),
            maximum: 32, audit: audit)
    }

    @Test("only the first pending delivery of each (webhook, lamp) is due; a retry holds back that lamp's later ones, not others'")
    func orderPerLamp() throws {
        let (store, path) = try FleetStoreTests.temporaryStore()
        let hook = try Self.hook(store)
        let batch = ["a", "b", "a", "b", "a"].enumerated().map { index, lamp in
            NewDelivery(webhookID: hook.id, lamp: lamp, type: "lamp.online", event: "{\"type\":\"lamp.online\"}", atMilliseconds: UInt64(10 + index))
        }
        #expect(try store.enqueueDeliveries(batch, capacity: 100).isEmpty)
        var due = try store.dueDeliveries(atMilliseconds: 100, limit: 10)
        #expect(due.map(\.lamp) == ["a", "b"] && due.map(\.id) == [1, 2])
        // a's first fails and waits until 200: a is held, b goes on.
        var failed = due[0]
        failed.attempts = 1
        failed.nextAttemptMilliseconds = 200
        failed.lastStatus = 503
        try store.saveAttempt(failed)
        var done = due[1]
        done.state = .delivered
        done.attempts = 1
        try store.saveAttempt(done)
        due = try store.dueDeliveries(atMilliseconds: 100, limit: 10)
        #expect(due.map(\.id) == [4], "\(due)")
        due = try FleetStore(path: path).dueDeliveries(atMilliseconds: 200, limit: 10)
        #expect(due.map(\.id) == [1, 4])
        #expect(try store.outboxDepths() == [hook.id: 4])
        // Given up: a's next one goes.
        failed.state = .failed
        try store.saveAttempt(failed)
        #expect(try store.dueDeliveries(atMilliseconds: 200, limit: 10).map(\.id) == [3, 4])
        let replayed = try store.replayDelivery(1, webhook: hook.id, atMilliseconds: 300, audit: Self.audit)
        #expect(replayed?.state == .pending && replayed?.attempts == 0)
        #expect(try store.replayDelivery(99, webhook: hook.id, atMilliseconds: 300, audit: Self.audit) == nil)
    }

    @Test("a full outbox refuses new deliveries for that webhook only, and says how many")
    func capacity() throws {
        let (store, _) = try FleetStoreTests.temporaryStore()
        let full = try Self.hook(store)
        let other = try Self.hook(store)
        let batch = (0..<5).flatMap { index in
            [full.id, other.id].map { NewDelivery(webhookID: $0, lamp: "a", type: "lamp.online", event: "{}", atMilliseconds: UInt64(index)) }
        }
        #expect(try store.enqueueDeliveries(Array(batch.prefix(6)), capacity: 3) == [:])
        #expect(try store.enqueueDeliveries(Array(batch.dropFirst(6)), capacity: 3) == [full.id: 2, other.id: 2])
        #expect(try store.outboxDepths() == [full.id: 3, other.id: 3])
        // Deleting a webhook drops its outbox; deliveries for it are skipped.
        #expect(try store.deleteWebhook(full.id, audit: Self.audit))
        #expect(try store.enqueueDeliveries(Array(batch.prefix(1)), capacity: 3) == [:])
        #expect(try store.outboxDepths() == [other.id: 3])
        #expect(try store.deliveries(webhook: full.id, limit: 10).isEmpty)
    }

    @Test("ended deliveries are pruned after the retention; pending ones stay")
    func prune() throws {
        let (store, _) = try FleetStoreTests.temporaryStore()
        let hook = try Self.hook(store)
        let batch = ["a", "b", "c"].map { NewDelivery(webhookID: hook.id, lamp: $0, type: "lamp.online", event: "{}", atMilliseconds: 1) }
        _ = try store.enqueueDeliveries(batch, capacity: 10)
        var due = try store.dueDeliveries(atMilliseconds: 10, limit: 10)
        due[0].state = .delivered
        due[0].finishedAtMilliseconds = 100
        due[1].state = .failed
        due[1].finishedAtMilliseconds = 300
        try store.saveAttempt(due[0])
        try store.saveAttempt(due[1])
        #expect(try store.pruneDeliveries(endedBefore: 200) == 1)
        #expect(try store.pruneDeliveries(endedBefore: 1000) == 1)
        #expect(try store.deliveries(webhook: hook.id, limit: 10).map(\.state) == [.pending])
    }

    @Test("at most `maximum` webhooks")
    func maximum() throws {
        let (store, _) = try FleetStoreTests.temporaryStore()
        let record = WebhookRecord(id: 0, url: "http://x/", secret: "s", events: ["*"], targets: ["all"], createdAtMilliseconds: 1, createdBy: "t")
        _ = try store.addWebhook(record, maximum: 2, audit: Self.audit)
        _ = try store.addWebhook(record, maximum: 2, audit: Self.audit)
        #expect(throws: FleetError.self) { _ = try store.addWebhook(record, maximum: 2, audit: Self.audit) }
        #expect(try store.webhooks().count == 2)
    }
}
