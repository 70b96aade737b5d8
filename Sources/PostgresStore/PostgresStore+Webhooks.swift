import FleetCore
import PostgresNIO

/// Webhooks and their durable outbox, as FleetStore+Webhooks keeps them.
extension PostgresStore {
    /// The advisory lock's second key held while the number of webhooks is checked and one added.
    static let webhookLock: Int32 = 3

    public func addWebhook(_ webhook: WebhookRecord, maximum: Int, audit: AuditRecord) async throws -> WebhookRecord {
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.idempotencyLock), \(Self.webhookLock))", logger: logger)
            let count = try Self.count(try await connection.query("SELECT COUNT(*) FROM webhook", logger: logger).collect())
            guard count < maximum else { throw FleetError.conflict("there are \(count) webhooks already, the most there may be", field: "url") }
            let inserted = try await connection.query(
                """
                INSERT INTO webhook (url, secret, events, targets, created_at, created_by)
                VALUES (\(webhook.url), \(webhook.secret), \(WebhookRecord.listColumn(webhook.events)), \(WebhookRecord.listColumn(webhook.targets)),
                        \(Int64(clamping: webhook.createdAtMilliseconds)), \(webhook.createdBy))
                RETURNING id
                """, logger: logger
            ).collect()
            var stored = webhook
            stored.id = try inserted.first?.decode(Int64.self) ?? 0
            var entry = audit
            entry.target = "webhook:\(stored.id)"
            try await insertAudit(connection, entry)
            return stored
        }
    }

    public func webhooks() async throws -> [WebhookRecord] {
        try await rows("SELECT id, url, secret, events, targets, created_at, created_by FROM webhook ORDER BY id").map { row in
            let (id, url, secret, events, targets, created, by) = try row.decode((Int64, String, String, String, String, Int64, String).self)
            return WebhookRecord(
                id: id, url: url, secret: secret, events: WebhookRecord.list(fromColumn: events), targets: WebhookRecord.list(fromColumn: targets),
                createdAtMilliseconds: UInt64(clamping: created), createdBy: by)
        }
    }

    public func deleteWebhook(_ id: Int64, audit: AuditRecord) async throws -> Bool {
        try await transaction { connection in
            let deleted = try await connection.query("DELETE FROM webhook WHERE id = \(id) RETURNING 1", logger: logger).collect()
            guard !deleted.isEmpty else { return false }
            try await insertAudit(connection, audit)
            return true
        }
    }

    /// Adds deliveries in one statement, after counting each webhook's pending ones with
    /// its row locked (two daemons cannot both fill the last places).
    public func enqueueDeliveries(_ batch: [NewDelivery], capacity: Int) async throws -> [Int64: Int] {
        guard !batch.isEmpty else { return [:] }
        let webhookIDs = Array(Set(batch.map(\.webhookID))).sorted()
        return try await transaction { connection in
            var pending: [Int64: Int] = [:]
            for try await id in try await connection.query(
                "SELECT id FROM webhook WHERE id = ANY(\(webhookIDs)::int8[]) ORDER BY id FOR UPDATE", logger: logger
            ).decode(Int64.self) {
                pending[id] = 0
            }
            for try await (id, count) in try await connection.query(
                """
                SELECT webhook_id, COUNT(*) FROM webhook_delivery WHERE state = 'pending' AND webhook_id = ANY(\(webhookIDs)::int8[])
                GROUP BY webhook_id
                """, logger: logger
            ).decode((Int64, Int).self) {
                pending[id] = count
            }
            var refused: [Int64: Int] = [:]
            var accepted: [NewDelivery] = []
            for delivery in batch {
                // A webhook deleted since the event was matched: nothing to deliver to.
                guard let depth = pending[delivery.webhookID] else { continue }
                guard depth < capacity else {
                    refused[delivery.webhookID, default: 0] += 1
                    continue
                }
                accepted.append(delivery)
                pending[delivery.webhookID] = depth + 1
            }
            guard !accepted.isEmpty else { return refused }
            let at = accepted.map { Int64(clamping: $0.atMilliseconds) }
            try await connection.query(
                """
                INSERT INTO webhook_delivery (webhook_id, lamp, type, event, created_at, state, next_attempt_at)
                SELECT u.webhook, u.lamp, u.type, u.event, u.at, 'pending', u.at
                FROM unnest(\(accepted.map(\.webhookID))::int8[], \(accepted.map(\.lamp))::text[], \(accepted.map(\.type))::text[],
                            \(accepted.map(\.event))::text[], \(at)::int8[]) WITH ORDINALITY AS u(webhook, lamp, type, event, at, n)
                ORDER BY u.n
                """, logger: logger)
            return refused
        }
    }

    public func dueDeliveries(atMilliseconds now: UInt64, limit: Int) async throws -> [DeliveryRecord] {
        try await rows(
            """
            SELECT \(unescaped: Self.deliveryColumns("d")) FROM webhook_delivery d
            JOIN (SELECT MIN(id) AS id FROM webhook_delivery WHERE state = 'pending' GROUP BY webhook_id, lamp) head ON head.id = d.id
            WHERE d.next_attempt_at <= \(Int64(clamping: now)) ORDER BY d.id LIMIT \(Int64(limit))
            """
        ).map(Self.delivery)
    }

    public func saveAttempt(_ delivery: DeliveryRecord) async throws {
        _ = try await rows(
            """
            UPDATE webhook_delivery SET state = \(delivery.state.rawValue), attempts = \(Int64(delivery.attempts)),
                next_attempt_at = \(Int64(clamping: delivery.nextAttemptMilliseconds)), last_status = \(delivery.lastStatus.map(Int64.init))::int8,
                last_error = \(delivery.lastError), finished_at = \(delivery.finishedAtMilliseconds.map { Int64(clamping: $0) })::int8
            WHERE id = \(delivery.id)
            """)
    }

    public func deliveries(webhook: Int64, limit: Int) async throws -> [DeliveryRecord] {
        try await rows(
            """
            SELECT \(unescaped: Self.deliveryColumns("d")) FROM webhook_delivery d WHERE d.webhook_id = \(webhook)
            ORDER BY d.id DESC LIMIT \(Int64(limit))
            """
        ).map(Self.delivery)
    }

    public func replayDelivery(_ id: Int64, webhook: Int64, atMilliseconds now: UInt64, audit: AuditRecord) async throws -> DeliveryRecord? {
        try await transaction { connection in
            let rows = try await connection.query(
                """
                UPDATE webhook_delivery d SET state = 'pending', attempts = 0, next_attempt_at = \(Int64(clamping: now)), finished_at = NULL
                WHERE d.id = \(id) AND d.webhook_id = \(webhook) RETURNING \(unescaped: Self.deliveryColumns("d"))
                """, logger: logger
            ).collect()
            guard let row = rows.first else { return nil }
            try await insertAudit(connection, audit)
            return try Self.delivery(row)
        }
    }

    public func outboxDepths() async throws -> [Int64: Int] {
        var depths: [Int64: Int] = [:]
        for row in try await rows("SELECT webhook_id, COUNT(*) FROM webhook_delivery WHERE state = 'pending' GROUP BY webhook_id") {
            let (id, count) = try row.decode((Int64, Int).self)
            depths[id] = count
        }
        return depths
    }

    public func pruneDeliveries(endedBefore cutoff: UInt64) async throws -> Int {
        try Self.count(
            try await rows(
                """
                WITH gone AS (DELETE FROM webhook_delivery WHERE state <> 'pending' AND finished_at < \(Int64(clamping: cutoff)) RETURNING 1)
                SELECT COUNT(*) FROM gone
                """))
    }

    static func deliveryColumns(_ table: String) -> String {
        ["id", "webhook_id", "lamp", "type", "event", "created_at", "state", "attempts", "next_attempt_at", "last_status", "last_error", "finished_at"]
            .map { "\(table).\($0)" }.joined(separator: ", ")
    }

    static func delivery(_ row: PostgresRow) throws -> DeliveryRecord {
        let (id, webhook, lamp, type, event, created, state, attempts, next, status, error, finished) = try row.decode(
            (Int64, Int64, String, String, String, Int64, String, Int, Int64, Int?, String?, Int64?).self)
        return try DeliveryRecord(
            storedID: id, webhookID: webhook, lamp: lamp, type: type, event: event, createdAt: created, state: state, attempts: attempts,
            nextAttemptAt: next, lastStatus: status, lastError: error, finishedAt: finished)
    }
}
