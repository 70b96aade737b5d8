import FleetCore
import Foundation
import GRDB

/// Webhooks (issue 17): the subscriptions and their durable outbox. A delivery is a row from
/// the moment its event is offered until the receiver answers 2xx (or it is given up); the
/// dispatcher reads the first pending row of each (webhook, lamp) so one lamp's deliveries go
/// in order, and writes each attempt's outcome.
extension FleetStore: WebhookStoring {
    /// The migration that adds the tables (registered after v10 and the energy work's v11).
    static func registerWebhookMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v12: webhooks") { db in
            try db.execute(
                sql: """
                    CREATE TABLE webhook (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        url TEXT NOT NULL,
                        secret TEXT NOT NULL,
                        events TEXT NOT NULL,
                        targets TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        created_by TEXT NOT NULL
                    );
                    CREATE TABLE webhook_delivery (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        webhook_id INTEGER NOT NULL REFERENCES webhook(id) ON DELETE CASCADE,
                        lamp TEXT NOT NULL,
                        type TEXT NOT NULL,
                        event TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        state TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at INTEGER NOT NULL,
                        last_status INTEGER,
                        last_error TEXT,
                        finished_at INTEGER
                    );
                    CREATE INDEX webhook_delivery_pending ON webhook_delivery(state, webhook_id, lamp, id);
                    CREATE INDEX webhook_delivery_by_webhook ON webhook_delivery(webhook_id, id);
                    """)
        }
    }

    public func addWebhook(_ webhook: WebhookRecord, maximum: Int, audit: AuditRecord) throws -> WebhookRecord {
        try pool.write { db in
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM webhook") ?? 0
            guard count < maximum else { throw FleetError.conflict("there are \(count) webhooks already, the most there may be", field: "url") }
            try db.execute(
                sql: "INSERT INTO webhook (url, secret, events, targets, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    webhook.url, webhook.secret, WebhookRecord.listColumn(webhook.events), WebhookRecord.listColumn(webhook.targets),
                    Int64(clamping: webhook.createdAtMilliseconds), webhook.createdBy,
                ])
            var stored = webhook
            stored.id = db.lastInsertedRowID
            var entry = audit
            entry.target = "webhook:\(stored.id)"
            try FleetStore.insertAudit(db, entry)
            return stored
        }
    }

    public func webhooks() throws -> [WebhookRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM webhook ORDER BY id").map { row in
                WebhookRecord(
                    id: row["id"], url: row["url"], secret: row["secret"],
                    events: WebhookRecord.list(fromColumn: row["events"]), targets: WebhookRecord.list(fromColumn: row["targets"]),
                    createdAtMilliseconds: UInt64(clamping: row["created_at"] as Int64), createdBy: row["created_by"])
            }
        }
    }

    public func deleteWebhook(_ id: Int64, audit: AuditRecord) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM webhook WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else { return false }
            try FleetStore.insertAudit(db, audit)
            return true
        }
    }

    public func enqueueDeliveries(_ batch: [NewDelivery], capacity: Int) throws -> [Int64: Int] {
        guard !batch.isEmpty else { return [:] }
        return try pool.write { db in
            var refused: [Int64: Int] = [:]
            var pending: [Int64: Int] = [:]
            let exists = try db.cachedStatement(sql: "SELECT 1 FROM webhook WHERE id = ?")
            let count = try db.cachedStatement(sql: "SELECT COUNT(*) FROM webhook_delivery WHERE state = 'pending' AND webhook_id = ?")
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO webhook_delivery (webhook_id, lamp, type, event, created_at, state, next_attempt_at)
                    VALUES (?, ?, ?, ?, ?, 'pending', ?)
                    """)
            for delivery in batch {
                if pending[delivery.webhookID] == nil {
                    // A webhook deleted since the event was matched: nothing to deliver to.
                    guard try Bool.fetchOne(exists, arguments: [delivery.webhookID]) == true else { continue }
                    pending[delivery.webhookID] = try Int.fetchOne(count, arguments: [delivery.webhookID]) ?? 0
                }
                guard let depth = pending[delivery.webhookID], depth < capacity else {
                    refused[delivery.webhookID, default: 0] += 1
                    continue
                }
                let at = Int64(clamping: delivery.atMilliseconds)
                try insert.execute(arguments: [delivery.webhookID, delivery.lamp, delivery.type, delivery.event, at, at])
                pending[delivery.webhookID] = depth + 1
            }
            return refused
        }
    }

    public func dueDeliveries(atMilliseconds now: UInt64, limit: Int) throws -> [DeliveryRecord] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT d.* FROM webhook_delivery d
                    JOIN (SELECT MIN(id) AS id FROM webhook_delivery WHERE state = 'pending' GROUP BY webhook_id, lamp) head ON head.id = d.id
                    WHERE d.next_attempt_at <= ? ORDER BY d.id LIMIT ?
                    """, arguments: [Int64(clamping: now), limit]
            ).map(FleetStore.delivery)
        }
    }

    public func saveAttempt(_ delivery: DeliveryRecord) throws {
        try pool.write { db in
            try db.execute(
                sql: """
                    UPDATE webhook_delivery SET state = ?, attempts = ?, next_attempt_at = ?, last_status = ?, last_error = ?, finished_at = ?
                    WHERE id = ?
                    """,
                arguments: [
                    delivery.state.rawValue, delivery.attempts, Int64(clamping: delivery.nextAttemptMilliseconds), delivery.lastStatus,
                    delivery.lastError, delivery.finishedAtMilliseconds.map { Int64(clamping: $0) }, delivery.id,
                ])
        }
    }

    public func deliveries(webhook: Int64, limit: Int) throws -> [DeliveryRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM webhook_delivery WHERE webhook_id = ? ORDER BY id DESC LIMIT ?", arguments: [webhook, limit])
                .map(FleetStore.delivery)
        }
    }

    public func replayDelivery(_ id: Int64, webhook: Int64, atMilliseconds now: UInt64, audit: AuditRecord) throws -> DeliveryRecord? {
        try pool.write { db in
            try db.execute(
                sql: """
                    UPDATE webhook_delivery SET state = 'pending', attempts = 0, next_attempt_at = ?, finished_at = NULL
                    WHERE id = ? AND webhook_id = ?
                    """, arguments: [Int64(clamping: now), id, webhook])
            guard db.changesCount > 0 else { return nil }
            try FleetStore.insertAudit(db, audit)
            return try Row.fetchOne(db, sql: "SELECT * FROM webhook_delivery WHERE id = ?", arguments: [id]).map(FleetStore.delivery)
        }
    }

    public func outboxDepths() throws -> [Int64: Int] {
        try pool.read { db in
            var depths: [Int64: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT webhook_id, COUNT(*) AS n FROM webhook_delivery WHERE state = 'pending' GROUP BY webhook_id") {
                depths[row["webhook_id"]] = row["n"]
            }
            return depths
        }
    }

    public func pruneDeliveries(endedBefore cutoff: UInt64) throws -> Int {
        try pool.write { db in
            try db.execute(
                sql: "DELETE FROM webhook_delivery WHERE state != 'pending' AND finished_at < ?", arguments: [Int64(clamping: cutoff)])
            return db.changesCount
        }
    }

    static func delivery(_ row: Row) throws -> DeliveryRecord {
        try DeliveryRecord(
            storedID: row["id"], webhookID: row["webhook_id"], lamp: row["lamp"], type: row["type"], event: row["event"],
            createdAt: row["created_at"], state: row["state"], attempts: row["attempts"], nextAttemptAt: row["next_attempt_at"],
            lastStatus: row["last_status"], lastError: row["last_error"], finishedAt: row["finished_at"])
    }
}
