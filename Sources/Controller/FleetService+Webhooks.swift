import FleetCore
import Foundation
import LampProtocol
import Logging
import OperatorAPI

extension FleetService {
    /// The dispatcher, or a refusal if this store keeps no webhooks.
    var webhookDispatcher: WebhookDispatcher {
        get throws(FleetError) {
            guard let dispatcher = events.webhooks else { throw .notFound("this controller's store keeps no webhooks") }
            return dispatcher
        }
    }

    /// Creates a webhook (admin), audited; the answer is the only place its secret is shown.
    /// A URL that is not http:// or https:// with a host, an unknown event type or a bad
    /// target is refused naming the field; past ``WebhookLimits/maximumWebhooks``, 409.
    public func createWebhook(_ request: WebhookCreate, by caller: Caller) async throws(FleetError) -> WebhookView {
        let dispatcher = try webhookDispatcher
        let limits = dispatcher.limits
        guard request.url.utf8.count <= limits.maximumURLLength else {
            throw .invalid("must be at most \(limits.maximumURLLength) bytes", field: "url")
        }
        guard let url = URL(string: request.url), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw .invalid("must be an http:// or https:// URL with a host, e.g. https://maintenance.example/hooks/lamps", field: "url")
        }
        guard url.user == nil && url.password == nil else {
            throw .invalid("must not carry a user or password: the signature authenticates deliveries", field: "url")
        }
        let events = request.events ?? ["*"]
        guard !events.isEmpty else { throw .invalid("must name at least one event type (or *)", field: "events") }
        if let bad = events.first(where: { !WebhookRecord.isKnownPattern($0) }) {
            throw .invalid(
                "has \(bad), which names no event a webhook gets; one of \(WebhookRecord.eventTypes.joined(separator: ", ")), a family such as incident.*, or *",
                field: "events")
        }
        let targets = request.targets ?? ["all"]
        guard !targets.isEmpty else { throw .invalid("must name at least one target (or all)", field: "targets") }
        if let bad = targets.first(where: { $0 != "all" && ($0 == StreamChannel.fleet || !StreamChannel.isValid($0)) }) {
            throw .invalid("has \(bad), which is not all, lamp:ID or group:NAME", field: "targets")
        }
        var secret: String
        if let given = request.secret {
            guard (16...256).contains(given.utf8.count), given.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw .invalid("must be 16 to 256 printable characters without spaces", field: "secret")
            }
            secret = given
        } else {
            var generator = SystemRandomNumberGenerator()
            secret = "whsec_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        }
        let now = clock.nowMilliseconds()
        let record = WebhookRecord(
            id: 0, url: request.url, secret: secret, events: events, targets: targets, createdAtMilliseconds: now, createdBy: caller.name)
        let audit = entry(caller, "webhook.create", target: "webhook", detail: "\(request.url) events \(events.joined(separator: ",")) targets \(targets.joined(separator: ","))")
        let stored = try await storing("storing the webhook") { try await dispatcher.store.addWebhook(record, maximum: limits.maximumWebhooks, audit: audit) }
        try await storing("loading the webhooks") { try await dispatcher.reload() }
        logger.notice("webhook created", metadata: ["webhook.id": "\(stored.id)", "webhook.url": "\(stored.url)", "api.caller": "\(caller.name)"])
        var view = Self.view(stored, pending: 0)
        view.secret = secret
        return view
    }

    /// Every webhook (never the secrets), with its outbox depth.
    public func webhooks() async throws(FleetError) -> [WebhookView] {
        let dispatcher = try webhookDispatcher
        let depths = try await storing("reading the webhook outbox") { try await dispatcher.store.outboxDepths() }
        return try await storing("reading the webhooks") { try await dispatcher.store.webhooks() }.map { Self.view($0, pending: depths[$0.id] ?? 0) }
    }

    /// One webhook.
    public func webhook(_ text: String) async throws(FleetError) -> WebhookView {
        let id = try Self.webhookID(text)
        guard let found = try await webhooks().first(where: { $0.id == id }) else { throw .notFound("no webhook \(text)", field: "id") }
        return found
    }

    /// Deletes a webhook and its outbox (admin), audited.
    public func deleteWebhook(_ text: String, by caller: Caller) async throws(FleetError) {
        let dispatcher = try webhookDispatcher
        let id = try Self.webhookID(text)
        let audit = entry(caller, "webhook.delete", target: "webhook:\(id)", detail: "")
        guard try await storing("deleting the webhook", { try await dispatcher.store.deleteWebhook(id, audit: audit) }) else {
            throw .notFound("no webhook \(text)", field: "id")
        }
        try await storing("loading the webhooks") { try await dispatcher.reload() }
        logger.notice("webhook deleted", metadata: ["webhook.id": "\(id)", "api.caller": "\(caller.name)"])
    }

    /// A webhook's deliveries, newest first.
    public func webhookDeliveries(_ text: String, limit: Int) async throws(FleetError) -> [DeliveryView] {
        let dispatcher = try webhookDispatcher
        let id = try await webhook(text).id
        return try await storing("reading the deliveries") { try await dispatcher.store.deliveries(webhook: id, limit: limit) }.map(Self.view)
    }

    /// Queues a delivery again (admin), audited: pending now, attempts from 0.
    public func replayDelivery(_ text: String, delivery: String, by caller: Caller) async throws(FleetError) -> DeliveryView {
        let dispatcher = try webhookDispatcher
        let id = try await webhook(text).id
        guard let deliveryID = Int64(delivery) else { throw .notFound("no delivery \(delivery)", field: "delivery") }
        let audit = entry(caller, "webhook.replay", target: "webhook:\(id)", detail: "delivery \(deliveryID)")
        let now = clock.nowMilliseconds()
        guard let replayed = try await storing("queueing the delivery", {
            try await dispatcher.store.replayDelivery(deliveryID, webhook: id, atMilliseconds: now, audit: audit)
        }) else {
            throw .notFound("webhook \(id) has no delivery \(delivery)", field: "delivery")
        }
        return Self.view(replayed)
    }

    static func webhookID(_ text: String) throws(FleetError) -> Int64 {
        guard let id = Int64(text) else { throw .notFound("no webhook \(text)", field: "id") }
        return id
    }

    static func view(_ record: WebhookRecord, pending: Int) -> WebhookView {
        WebhookView(
            id: record.id, url: record.url, events: record.events, targets: record.targets,
            createdAt: Date(unixMilliseconds: record.createdAtMilliseconds), createdBy: record.createdBy, pending: pending)
    }

    static func view(_ delivery: DeliveryRecord) -> DeliveryView {
        DeliveryView(
            id: delivery.id, webhook: delivery.webhookID, lamp: delivery.lamp.isEmpty ? nil : delivery.lamp, type: delivery.type,
            state: delivery.state.rawValue, attempts: delivery.attempts, createdAt: Date(unixMilliseconds: delivery.createdAtMilliseconds),
            nextAttemptAt: delivery.state == .pending && delivery.attempts > 0 ? Date(unixMilliseconds: delivery.nextAttemptMilliseconds) : nil,
            lastStatus: delivery.lastStatus, lastError: delivery.lastError,
            finishedAt: delivery.finishedAtMilliseconds.map { Date(unixMilliseconds: $0) })
    }
}
