import LampAuth
import LampProtocol

/// A webhook subscription (issue 17): the events a maintenance system wants, POSTed to its
/// URL, signed with its secret.
public struct WebhookRecord: Sendable, Hashable {
    /// Its id.
    public var id: Int64
    /// Where deliveries go: http:// or https://.
    public var url: String
    /// The HMAC key of the signatures (shown once, when the webhook is made).
    public var secret: String
    /// Which event types: exact (`lamp.fault`), a family (`incident.*`) or everything (`*`).
    public var events: [String]
    /// Which lamps: `all`, `lamp:ID`, `group:NAME`.
    public var targets: [String]
    /// When it was made, Unix ms, and by whom.
    public var createdAtMilliseconds: UInt64
    public var createdBy: String

    /// A webhook.
    public init(id: Int64, url: String, secret: String, events: [String], targets: [String], createdAtMilliseconds: UInt64, createdBy: String) {
        self.id = id
        self.url = url
        self.secret = secret
        self.events = events
        self.targets = targets
        self.createdAtMilliseconds = createdAtMilliseconds
        self.createdBy = createdBy
    }

    /// Whether an event of `type` about `lamp` (in `groups`; nil lamp: about no one lamp, such
    /// as a command or a cabinet's incident) is for this webhook. An event about no lamp goes
    /// only to webhooks whose targets include `all`.
    public func matches(type: String, lamp: String?, groups: () -> [String]) -> Bool {
        guard events.contains(where: { WebhookRecord.pattern($0, matches: type) }) else { return false }
        if targets.contains("all") { return true }
        guard let lamp else { return false }
        if targets.contains("lamp:" + lamp) { return true }
        let wanted = targets.filter { $0.hasPrefix("group:") }
        guard !wanted.isEmpty else { return false }
        return groups().contains { wanted.contains("group:" + $0) }
    }

    /// `*` matches all, `family.*` every type starting `family.`, anything else itself.
    public static func pattern(_ pattern: String, matches type: String) -> Bool {
        if pattern == "*" { return true }
        if pattern.hasSuffix(".*") { return type.hasPrefix(pattern.dropLast()) }
        return pattern == type
    }

    /// The event types a webhook can ask for (the stream's, less the two that are too many:
    /// `lamp.status` and `command.progress`).
    public static let eventTypes = [
        "lamp.online", "lamp.offline", "lamp.auth-failed", "lamp.fault", "lamp.power-up", "lamp.clock-lost", "lamp.event",
        "lamp.refused", "lamp.program-mismatch", "lamp.program-match", "command.applied", "incident.opened",
        "incident.acknowledged", "incident.resolved",
    ]

    /// Whether `pattern` names at least one deliverable type.
    public static func isKnownPattern(_ pattern: String) -> Bool {
        eventTypes.contains { WebhookRecord.pattern(pattern, matches: $0) }
    }

    /// `Lamplighter-Signature`'s value: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
    public static func signature(secret: String, unixSeconds: UInt64, body: [UInt8]) -> String {
        let mac = HMACSHA256(key: Array(secret.utf8)).authenticationCode(Array("\(unixSeconds).".utf8) + body)
        return "t=\(unixSeconds),v1=" + mac.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
        }.joined()
    }
}

/// Where a delivery is.
public enum DeliveryState: String, Sendable, Hashable, CaseIterable {
    /// Waiting to be sent (again, after a failure: at its next attempt's time).
    case pending
    /// The receiver answered 2xx.
    case delivered
    /// Given up after ``WebhookLimits/maximumAttempts`` or ``WebhookLimits/giveUpAfterMilliseconds``;
    /// a replay queues it again.
    case failed
}

/// One event for one webhook, in the durable outbox until the receiver takes it.
public struct DeliveryRecord: Sendable, Hashable {
    /// Its id: the receiver's key to drop a repeat (`Lamplighter-Delivery`).
    public var id: Int64
    /// The webhook.
    public var webhookID: Int64
    /// The lamp it is about, or "" for an event about no lamp: deliveries with the same
    /// (webhook, lamp) go strictly in id order, one at a time.
    public var lamp: String
    /// The event's stream type, e.g. `incident.opened`.
    public var type: String
    /// The event as the stream shows it (JSON).
    public var event: String
    /// When the event happened, Unix ms.
    public var createdAtMilliseconds: UInt64
    /// Where it is.
    public var state: DeliveryState
    /// Attempts so far.
    public var attempts: Int
    /// When the next attempt is due, Unix ms.
    public var nextAttemptMilliseconds: UInt64
    /// The last attempt's HTTP status (nil: none, or no answer) and error.
    public var lastStatus: Int?
    public var lastError: String?
    /// When it was delivered or given up, Unix ms.
    public var finishedAtMilliseconds: UInt64?

    /// A delivery.
    public init(
        id: Int64, webhookID: Int64, lamp: String, type: String, event: String, createdAtMilliseconds: UInt64, state: DeliveryState = .pending,
        attempts: Int = 0, nextAttemptMilliseconds: UInt64, lastStatus: Int? = nil, lastError: String? = nil, finishedAtMilliseconds: UInt64? = nil
    ) {
        self.id = id
        self.webhookID = webhookID
        self.lamp = lamp
        self.type = type
        self.event = event
        self.createdAtMilliseconds = createdAtMilliseconds
        self.state = state
        self.attempts = attempts
        self.nextAttemptMilliseconds = nextAttemptMilliseconds
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.finishedAtMilliseconds = finishedAtMilliseconds
    }

    /// The body POSTed: the stream's event with `delivery` and `webhook` first.
    public var body: [UInt8] {
        var text = "{\"delivery\":\(id),\"webhook\":\(webhookID)"
        let rest = event.drop { $0 != "{" }.dropFirst()
        text += rest.first == "}" ? String(rest) : "," + rest
        return Array(text.utf8)
    }
}

/// A new delivery, before the outbox gives it an id.
public struct NewDelivery: Sendable, Hashable {
    public var webhookID: Int64
    public var lamp: String
    public var type: String
    public var event: String
    public var atMilliseconds: UInt64

    /// A delivery to store.
    public init(webhookID: Int64, lamp: String, type: String, event: String, atMilliseconds: UInt64) {
        self.webhookID = webhookID
        self.lamp = lamp
        self.type = type
        self.event = event
        self.atMilliseconds = atMilliseconds
    }
}

/// The webhooks' explicit limits.
public struct WebhookLimits: Sendable, Hashable {
    /// How many webhooks may exist.
    public var maximumWebhooks = 32
    /// Pending deliveries one webhook may have in its outbox: when full, a new event for it is
    /// refused (not stored; counted as `dropped` and logged), so what waits stays in order.
    public var outboxCapacity = 10_000
    /// One attempt's whole time (connect, send, answer), ms.
    public var requestTimeoutMilliseconds: UInt64 = 10_000
    /// Connecting, ms.
    public var connectTimeoutMilliseconds: UInt64 = 5_000
    /// The largest event body sent; a larger event is not delivered (counted as `dropped`).
    public var maximumBodyBytes = 256 * 1024
    /// How much of a receiver's answer is read (for the log); the rest is not waited for.
    public var maximumResponseBytes = 4096
    /// The first retry's wait, ms; each later one doubles, up to ``maximumRetryMilliseconds``,
    /// plus up to ``jitterShare`` of it at random.
    public var firstRetryMilliseconds: UInt64 = 1_000
    public var maximumRetryMilliseconds: UInt64 = 300_000
    public var jitterShare = 0.2
    /// Give up ("failed") after this many attempts, or once the event is this old.
    public var maximumAttempts = 20
    public var giveUpAfterMilliseconds: UInt64 = 24 * 3_600_000
    /// Attempts in flight at once, in all, and for one webhook (so a stalled receiver cannot
    /// hold them all).
    public var concurrentAttempts = 32
    public var concurrentAttemptsPerWebhook = 8
    /// How long a URL may be.
    public var maximumURLLength = 2048
    /// How long delivered and failed deliveries stay in the log (pending ones stay until they end).
    public var deliveryRetentionMilliseconds: UInt64 = 7 * 24 * 3_600_000

    /// The defaults.
    public init() {}

    /// The wait before the attempt after `attempts` failed ones, with `random` in 0..<1.
    public func retryDelay(afterAttempts attempts: Int, random: Double) -> UInt64 {
        let doublings = UInt64(min(max(attempts - 1, 0), 30))
        let base = min(maximumRetryMilliseconds, firstRetryMilliseconds << doublings)
        return base + UInt64(Double(base) * jitterShare * min(max(random, 0), 1))
    }

    /// Whether a delivery that failed its `attempts`th attempt is given up, at `now`.
    public func givesUp(attempts: Int, createdAtMilliseconds: UInt64, atMilliseconds now: UInt64) -> Bool {
        attempts >= maximumAttempts || now >= createdAtMilliseconds + giveUpAfterMilliseconds
    }
}

/// The durable side of webhooks: the subscriptions and the outbox (``FleetStore`` in the
/// daemon). Every call may block on the database: call it from a task, never an event loop.
public protocol WebhookStoring: Sendable {
    /// Stores a new webhook (its id is assigned) with its audit entry; refused past `maximum`.
    func addWebhook(_ webhook: WebhookRecord, maximum: Int, audit: AuditRecord) async throws -> WebhookRecord
    /// Every webhook.
    func webhooks() async throws -> [WebhookRecord]
    /// Deletes a webhook and its deliveries, with its audit entry; false if there was none.
    func deleteWebhook(_ id: Int64, audit: AuditRecord) async throws -> Bool
    /// Adds deliveries to the outbox in one transaction, each unless its webhook has
    /// `capacity` pending already; returns how many were refused for that, per webhook.
    func enqueueDeliveries(_ batch: [NewDelivery], capacity: Int) async throws -> [Int64: Int]
    /// The first pending delivery of each (webhook, lamp) whose attempt is due at `now`, oldest first, at most `limit`.
    func dueDeliveries(atMilliseconds now: UInt64, limit: Int) async throws -> [DeliveryRecord]
    /// Stores an attempt's outcome (the delivery as it now is).
    func saveAttempt(_ delivery: DeliveryRecord) async throws
    /// A webhook's deliveries, newest first.
    func deliveries(webhook: Int64, limit: Int) async throws -> [DeliveryRecord]
    /// Queues a delivery again (pending, due at `now`, attempts from 0), with its audit entry; nil if none.
    func replayDelivery(_ id: Int64, webhook: Int64, atMilliseconds now: UInt64, audit: AuditRecord) async throws -> DeliveryRecord?
    /// Pending deliveries per webhook.
    func outboxDepths() async throws -> [Int64: Int]
    /// Deletes delivered and failed deliveries that ended before `cutoff`; how many.
    func pruneDeliveries(endedBefore cutoff: UInt64) async throws -> Int
}
