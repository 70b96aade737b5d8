import Foundation

/// `POST /api/v1/webhooks`: a new webhook.
public struct WebhookCreate: Codable, Sendable, Equatable {
    /// Where deliveries go: http:// or https:// (https checks the receiver's certificate
    /// against the system's trust store).
    public var url: String
    /// Event types: exact (`lamp.fault`), a family (`incident.*`) or `*`. Default `*`.
    public var events: [String]?
    /// Lamps: `all`, `lamp:ID`, `group:NAME`. Default `all`. Events about no lamp (commands,
    /// a cabinet's incidents) go only to webhooks with `all`.
    public var targets: [String]?
    /// The signing secret, 16 to 256 characters; generated when not given.
    public var secret: String?

    /// A webhook to create.
    public init(url: String, events: [String]? = nil, targets: [String]? = nil, secret: String? = nil) {
        self.url = url
        self.events = events
        self.targets = targets
        self.secret = secret
    }
}

/// A webhook as the API shows it. `secret` is set only in the answer to its creation.
public struct WebhookView: Codable, Sendable, Equatable {
    public var id: Int64
    public var url: String
    public var events: [String]
    public var targets: [String]
    public var createdAt: Date
    public var createdBy: String
    /// Deliveries waiting in its outbox.
    public var pending: Int
    /// The signing secret: shown once, when the webhook is created.
    public var secret: String?

    /// A webhook view.
    public init(
        id: Int64, url: String, events: [String], targets: [String], createdAt: Date, createdBy: String, pending: Int, secret: String? = nil
    ) {
        self.id = id
        self.url = url
        self.events = events
        self.targets = targets
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.pending = pending
        self.secret = secret
    }
}

/// One delivery in a webhook's log (`GET /api/v1/webhooks/{id}/deliveries`).
public struct DeliveryView: Codable, Sendable, Equatable {
    /// Its id, sent as `Lamplighter-Delivery`.
    public var id: Int64
    public var webhook: Int64
    /// The lamp it is about (nil: about no one lamp).
    public var lamp: String?
    /// The event's type, e.g. `incident.opened`.
    public var type: String
    /// `pending`, `delivered` or `failed`.
    public var state: String
    public var attempts: Int
    /// When the event happened.
    public var createdAt: Date
    /// For a pending delivery that failed before: when it is tried next.
    public var nextAttemptAt: Date?
    /// The last attempt's HTTP status and error.
    public var lastStatus: Int?
    public var lastError: String?
    /// When it was delivered, or given up.
    public var finishedAt: Date?

    /// A delivery view.
    public init(
        id: Int64, webhook: Int64, lamp: String?, type: String, state: String, attempts: Int, createdAt: Date, nextAttemptAt: Date?,
        lastStatus: Int?, lastError: String?, finishedAt: Date?
    ) {
        self.id = id
        self.webhook = webhook
        self.lamp = lamp
        self.type = type
        self.state = state
        self.attempts = attempts
        self.createdAt = createdAt
        self.nextAttemptAt = nextAttemptAt
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.finishedAt = finishedAt
    }
}
