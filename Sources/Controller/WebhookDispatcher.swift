import AsyncHTTPClient
import FleetCore
import Foundation
import LampProtocol
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Delivers the fleet's events to webhooks (issue 17).
///
/// The event path only offers: ``offer(_:atMilliseconds:)`` matches the event against the
/// webhooks held in memory and appends what matches to a bounded buffer, under a lock, with
/// no I/O (it runs on the lamps' event loops). This service's own task writes the buffer to
/// the durable outbox in one transaction every ``flushInterval`` (the same batching as the
/// event history's writer), then sends what is due: the first pending delivery of each
/// (webhook, lamp), so one lamp's deliveries reach a webhook strictly in order and a failure
/// holds back only that lamp's later ones. A delivery is marked delivered only after the
/// receiver's 2xx: a crash in between sends it again with the same id (at-least-once, with
/// a stable `Lamplighter-Delivery` for the receiver to drop repeats).
public final class WebhookDispatcher: Service, Sendable {
    let store: any WebhookStoring
    let fleet: FleetState
    let limits: WebhookLimits
    let clock: any FleetClock
    let logger: Logger
    let group: any EventLoopGroup
    /// Offered deliveries not yet in the outbox; at most ``bufferLimit`` (more are dropped, counted).
    private let buffer = Mutex<[NewDelivery]>([])
    /// The webhooks, as stored.
    private let hooks = Mutex<[WebhookRecord]>([])
    private let hookCount = Atomic<Int>(0)
    /// Deliveries being attempted, how many per webhook, and the attempts that ended during
    /// the current look at the outbox (``Attempts``).
    private let inFlight = Mutex(Attempts())

    /// What is being attempted. A look at the outbox reads a snapshot: an attempt that ends
    /// (and stores its outcome) after the look began is still pending in that snapshot, and
    /// must not be started again from it (that sent a delivered one twice).
    struct Attempts {
        var ids: Set<Int64> = []
        var perWebhook: [Int64: Int] = [:]
        /// Attempts ended since the current look began.
        var ended: Set<Int64> = []
    }
    /// Time between outbox writes (and looks for due deliveries).
    let flushInterval: Duration
    /// Set when the outbox may have new work (a write, an attempt's end): the next loop looks
    /// at once; otherwise it looks every ``idlePoll`` (retries coming due, replays).
    private let changed = Atomic<Bool>(true)
    /// How often an idle dispatcher looks for due deliveries.
    static let idlePoll: Duration = .milliseconds(500)
    /// Offered deliveries held in memory at most, between two writes.
    static let bufferLimit = 100_000

    private let delivered = Counter(label: "lamplighter_webhook_deliveries_total", dimensions: [("outcome", "delivered")])
    private let retried = Counter(label: "lamplighter_webhook_deliveries_total", dimensions: [("outcome", "retry")])
    private let failed = Counter(label: "lamplighter_webhook_deliveries_total", dimensions: [("outcome", "failed")])
    private let dropped = Counter(label: "lamplighter_webhook_deliveries_total", dimensions: [("outcome", "dropped")])
    private let depth = Gauge(label: "lamplighter_webhook_outbox_depth")
    private let latency = Metrics.Timer(label: "lamplighter_webhook_delivery_latency_seconds")

    init(
        store: any WebhookStoring, fleet: FleetState, limits: WebhookLimits = WebhookLimits(), flushInterval: Duration = .milliseconds(50),
        clock: any FleetClock, group: any EventLoopGroup, logger: Logger
    ) {
        self.store = store
        self.fleet = fleet
        self.limits = limits
        self.flushInterval = flushInterval
        self.clock = clock
        self.logger = logger
        self.group = group
    }

    /// The HTTP client of one run: made when the service runs (a controller that never runs
    /// its services has none to shut down), no redirects followed, the system's trust store.
    func makeClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(
            connect: .milliseconds(Int64(limits.connectTimeoutMilliseconds)), read: .milliseconds(Int64(limits.requestTimeoutMilliseconds)))
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroup: group, configuration: configuration)
    }

    /// Loads the webhooks (done again by ``reload()`` after each change).
    public func reload() async throws {
        let stored = try await store.webhooks()
        hooks.withLock { $0 = stored }
        hookCount.store(stored.count, ordering: .relaxed)
    }

    /// The webhooks in memory.
    var webhooks: [WebhookRecord] { hooks.withLock { $0 } }

    /// Offers an event (any thread, no I/O): a delivery for each webhook that wants it.
    /// `lamp.status` and `command.progress` are never delivered (too many).
    func offer(_ event: FleetEvent, atMilliseconds now: UInt64) {
        guard hookCount.load(ordering: .relaxed) > 0 else { return }
        switch event {
        case .status, .command(_, final: false): return
        default: break
        }
        let type = event.streamType
        let lamp = event.lampID?.value
        let fleet = self.fleet
        var groups: [String]?
        let lampID = event.lampID
        // Matched outside the lock: a group target asks the fleet model (its own lock).
        let wanting = hooks.withLock { $0 }.filter { hook in
            hook.matches(type: type, lamp: lamp) {
                if groups == nil {
                    groups = lampID.flatMap { id in fleet.withModel { model in model.slot(of: id).map { model.groups(of: $0) } } } ?? []
                }
                return groups ?? []
            }
        }
        guard !wanting.isEmpty else { return }
        let text = EventHub.encode(FleetEvents.streamEvent(event, atMilliseconds: now))
        guard text.utf8.count <= limits.maximumBodyBytes else {
            dropped.increment(by: wanting.count)
            logger.warning("webhook event too large, not delivered", metadata: ["event.type": "\(type)", "bytes": "\(text.utf8.count)"])
            return
        }
        let deliveries = wanting.map { NewDelivery(webhookID: $0.id, lamp: lamp ?? "", type: type, event: text, atMilliseconds: now) }
        let accepted = buffer.withLock { buffer -> Bool in
            guard buffer.count + deliveries.count <= Self.bufferLimit else { return false }
            buffer += deliveries
            return true
        }
        if !accepted { dropped.increment(by: deliveries.count) }
    }

    public func run() async throws {
        try await reload()
        let client = makeClient()
        await withDiscardingTaskGroup { group in
            var lastDepth = ContinuousClock.now - .seconds(10)
            var lastPoll = ContinuousClock.now - .seconds(10)
            var lastPrune = ContinuousClock.now - .seconds(7200)
            var lastDepthValue = 1
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                await flush()
                // The outbox holds deliveries only while a webhook exists (or until the last
                // look after its removal found it empty): no query a second for nothing.
                if ContinuousClock.now - lastDepth >= .seconds(1), hookCount.load(ordering: .relaxed) > 0 || lastDepthValue > 0 {
                    lastDepth = ContinuousClock.now
                    if let depths = try? await store.outboxDepths() {
                        lastDepthValue = depths.values.reduce(0, +)
                        depth.record(lastDepthValue)
                    }
                }
                if ContinuousClock.now - lastPrune >= .seconds(3600) {
                    lastPrune = ContinuousClock.now
                    await prune()
                }
                if hookCount.load(ordering: .relaxed) > 0,
                    changed.exchange(false, ordering: .relaxed) || ContinuousClock.now - lastPoll >= Self.idlePoll
                {
                    lastPoll = ContinuousClock.now
                    await startDue(in: &group, client: client)
                }
                // A plain sleep, not one ended early by a graceful shutdown: the loop sees the
                // shutdown within an interval anyway, and a shutdown-aware sleep cost a task
                // group and a child task every turn (about 12 allocations, 20 times a second).
                // With no webhook there is nothing to flush: look twice a second.
                do {
                    try await Task.sleep(for: hookCount.load(ordering: .relaxed) > 0 ? self.flushInterval : Self.idlePoll)
                } catch {
                    break
                }
            }
            // Shutting down: what was offered goes to the outbox; attempts in flight are cut
            // (they stay pending and are sent again after the restart, with the same id).
            await flush()
            group.cancelAll()
        }
        try? await client.shutdown()
    }

    /// Deletes deliveries that ended longer than ``WebhookLimits/deliveryRetentionMilliseconds`` ago (hourly).
    func prune() async {
        let now = clock.nowMilliseconds()
        do {
            let pruned = try await store.pruneDeliveries(endedBefore: now - min(now, limits.deliveryRetentionMilliseconds))
            if pruned > 0 { logger.info("pruned webhook deliveries", metadata: ["deliveries": "\(pruned)"]) }
        } catch {
            logger.error("pruning webhook deliveries failed", metadata: ["error": "\(error)"])
        }
    }

    /// Writes the buffered deliveries to the outbox (kept in memory for the next try if it fails).
    func flush() async {
        let batch = buffer.withLock { buffer -> [NewDelivery] in
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer
        }
        guard !batch.isEmpty else { return }
        do {
            let refused = try await store.enqueueDeliveries(batch, capacity: limits.outboxCapacity)
            changed.store(true, ordering: .relaxed)
            for (webhook, count) in refused {
                dropped.increment(by: count)
                logger.warning(
                    "webhook outbox full: newest deliveries refused",
                    metadata: ["webhook.id": "\(webhook)", "refused": "\(count)", "outbox.capacity": "\(limits.outboxCapacity)"])
            }
        } catch {
            logger.error("storing webhook deliveries failed; retrying", metadata: ["error": "\(error)", "deliveries": "\(batch.count)"])
            buffer.withLock { buffer in buffer.insert(contentsOf: batch.prefix(Self.bufferLimit - min(buffer.count, Self.bufferLimit)), at: 0) }
        }
    }

    /// Starts an attempt for each due delivery not in flight, within the concurrency limits
    /// (the outbox is read here, in this service's task).
    private func startDue(in group: inout DiscardingTaskGroup, client: HTTPClient) async {
        // Attempts that ended before this look stored their outcome before it: the snapshot has it.
        inFlight.withLock { $0.ended.removeAll() }
        let due: [DeliveryRecord]
        do {
            due = try await store.dueDeliveries(atMilliseconds: clock.nowMilliseconds(), limit: limits.concurrentAttempts * 4)
        } catch {
            logger.error("reading the webhook outbox failed", metadata: ["error": "\(error)"])
            return
        }
        let byID = Dictionary(webhooks.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for delivery in due {
            guard let hook = byID[delivery.webhookID] else { continue }
            let claimed = inFlight.withLock { state -> Bool in
                guard !state.ids.contains(delivery.id), !state.ended.contains(delivery.id), state.ids.count < limits.concurrentAttempts,
                    state.perWebhook[hook.id, default: 0] < limits.concurrentAttemptsPerWebhook
                else { return false }
                state.ids.insert(delivery.id)
                state.perWebhook[hook.id, default: 0] += 1
                return true
            }
            guard claimed else { continue }
            group.addTask { [self] in
                await self.attempt(delivery, to: hook, client: client)
                inFlight.withLock { state in
                    state.ids.remove(delivery.id)
                    state.perWebhook[hook.id, default: 1] -= 1
                    state.ended.insert(delivery.id)
                }
                changed.store(true, ordering: .relaxed)
            }
        }
    }

    /// One attempt, and its outcome stored.
    func attempt(_ delivery: DeliveryRecord, to hook: WebhookRecord, client: HTTPClient) async {
        let body = delivery.body
        var request = HTTPClientRequest(url: hook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "lamplighterd-webhooks")
        request.headers.add(
            name: "Lamplighter-Signature", value: WebhookRecord.signature(secret: hook.secret, unixSeconds: clock.nowMilliseconds() / 1000, body: body))
        request.headers.add(name: "Lamplighter-Delivery", value: "\(delivery.id)")
        request.headers.add(name: "Lamplighter-Event", value: delivery.type)
        request.body = .bytes(ByteBuffer(bytes: body))
        var status: Int?
        var failure: String?
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(limits.requestTimeoutMilliseconds)), logger: nil)
            status = Int(response.status.code)
            // A little of the answer, for the log; a huge or endless answer is not waited for.
            var answer = ByteBuffer()
            for try await part in response.body {
                var part = part
                answer.writeBuffer(&part)
                if answer.readableBytes >= limits.maximumResponseBytes { break }
            }
            if !(200..<300).contains(Int(response.status.code)) {
                let text = String(decoding: answer.readableBytesView.prefix(200), as: UTF8.self)
                failure = "HTTP \(response.status.code)" + (text.isEmpty ? "" : ": \(text)")
            }
        } catch is CancellationError {
            return
        } catch {
            if Task.isCancelled { return }
            failure = Self.describe(error)
        }
        if Task.isCancelled && status == nil { return }
        let now = clock.nowMilliseconds()
        var outcome = delivery
        outcome.attempts += 1
        outcome.lastStatus = status
        outcome.lastError = failure
        var metadata: Logger.Metadata = [
            "webhook.id": "\(hook.id)", "delivery.id": "\(delivery.id)", "event.type": "\(delivery.type)", "attempts": "\(outcome.attempts)",
        ]
        if !delivery.lamp.isEmpty { metadata["lamp.id"] = "\(delivery.lamp)" }
        if failure == nil {
            outcome.state = .delivered
            outcome.finishedAtMilliseconds = now
            delivered.increment()
            latency.recordMilliseconds(Int64(clamping: now &- min(now, delivery.createdAtMilliseconds)))
        } else if limits.givesUp(attempts: outcome.attempts, createdAtMilliseconds: delivery.createdAtMilliseconds, atMilliseconds: now) {
            outcome.state = .failed
            outcome.finishedAtMilliseconds = now
            failed.increment()
            metadata["error"] = "\(failure ?? "")"
            logger.warning("webhook delivery failed: given up", metadata: metadata)
        } else {
            outcome.nextAttemptMilliseconds = now + limits.retryDelay(afterAttempts: outcome.attempts, random: Double.random(in: 0..<1))
            retried.increment()
            metadata["error"] = "\(failure ?? "")"
            metadata["retry.in.ms"] = "\(outcome.nextAttemptMilliseconds - now)"
            logger.info("webhook delivery failed, will retry", metadata: metadata)
        }
        do {
            try await store.saveAttempt(outcome)
        } catch {
            // Not marked: it is attempted again (the same id), which the receiver drops.
            logger.error("storing a webhook attempt failed", metadata: ["error": "\(error)", "delivery.id": "\(delivery.id)"])
        }
    }

    static func describe(_ error: any Error) -> String {
        if "\(error)".contains("Connection refused") { return "cannot connect: connection refused" }
        if let client = error as? HTTPClientError {
            if client == .deadlineExceeded || client == .readTimeout { return "no answer in time" }
            if client == .connectTimeout { return "connecting timed out" }
            if client == .remoteConnectionClosed { return "the receiver closed the connection" }
            return "\(client)"
        }
        if let connect = error as? NIOConnectionError {
            return "cannot connect: \(connect.connectionErrors.first.map { "\($0.error)" } ?? "\(connect)")"
        }
        return "\(error)"
    }
}
