import Foundation
import OperatorAPI
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Webhooks with real processes: lamplighterd, lampsim, lampctl, and a real HTTP receiver.
@Suite("Webhooks end to end", .serialized)
struct WebhookTests {
    static let secret = "test-secret-0123456789abcdef"

    /// Adds a webhook through lampctl (admin), returns it.
    static func add(_ daemon: Daemon, _ url: String, events: String, target: String = "all", secret: String? = WebhookTests.secret) throws -> WebhookView {
        let output = try ProductRunner.run(
            "lampctl", ["webhooks", "add", url, "--events", events, "--target", target, "--json"] + (secret.map { ["--secret", $0] } ?? [])
                + daemon.lampctlOptions)
        guard output.status == 0 else { throw HarnessError("lampctl webhooks add failed: \(output.stdout) \(output.stderr)") }
        return try APICoding.decoder().decode(WebhookView.self, from: Data(output.stdout.utf8))
    }

    static func deliveries(_ daemon: Daemon, _ webhook: Int64) async throws -> [DeliveryView] {
        let (status, list): (Int, [DeliveryView]?) = try await daemon.request("GET", "/webhooks/\(webhook)/deliveries?limit=10000")
        guard status == 200, let list else { throw HarnessError("GET deliveries answered \(status)") }
        return list
    }

    /// Checks what the receiver accepted against the daemon's delivery log: every delivery
    /// accepted exactly once, each lamp's in id order, each signature valid.
    static func checkExactlyOnceInOrder(_ receiver: WebhookReceiver, _ log: [DeliveryView]) {
        let accepted = receiver.accepted
        let counts = Dictionary(accepted.map { ($0.delivery, 1) }, uniquingKeysWith: +)
        #expect(counts.values.allSatisfy { $0 == 1 }, "repeated: \(counts.filter { $0.value > 1 })")
        #expect(Set(counts.keys) == Set(log.map(\.id)), "accepted \(counts.keys.sorted()) logged \(log.map(\.id).sorted())")
        #expect(log.allSatisfy { $0.state == "delivered" }, "\(log.filter { $0.state != "delivered" })")
        #expect(receiver.received.allSatisfy { $0.signatureValid })
        for lamp in Set(accepted.map { $0.lamp ?? "" }) {
            let ids = accepted.filter { ($0.lamp ?? "") == lamp }.map(\.delivery)
            #expect(ids == ids.sorted(), "lamp \(lamp) got \(ids)")
        }
    }

    /// The scenario of issue 17's "done when", with SIGTERM or SIGKILL in the middle of retries.
    func restartInRetries(kill: Bool) async throws {
        let receiver = try await WebhookReceiver(secret: Self.secret, behaviour: .status(503))
        defer { Task { await receiver.close() } }
        let daemon = try Daemon(lamps: 3)
        try await daemon.start()
        let webhook = try Self.add(daemon, receiver.url, events: "lamp.online,lamp.offline")
        #expect(webhook.secret == nil || webhook.secret == Self.secret)
        // Two rounds of the lamps linking and dropping: online, offline, online, offline each.
        for _ in 0..<2 {
            let simulator = try Simulator(daemon, count: 3, duration: 60)
            try await waitUntil("3 lamps are online", explain: { simulator.lastLines() }) { try await daemon.onlineCount() == 3 }
            _ = try simulator.finish()
            try await waitUntil("the lamps are offline") { try await daemon.onlineCount() == 0 }
        }
        try await waitUntil("each of the 12 deliveries' first attempt was refused", explain: { "\(receiver.received.count) received" }) {
            let logged = try await Self.deliveries(daemon, webhook.id)
            return logged.count == 12 && Set(receiver.received.map(\.delivery)).count >= 3
        }
        let before = try await Self.deliveries(daemon, webhook.id)
        #expect(before.allSatisfy { $0.state == "pending" } && before.contains { ($0.lastStatus ?? 0) == 503 }, "\(before)")
        // While it still refuses: only the first delivery of each lamp has been tried.
        #expect(Set(receiver.received.map(\.delivery)).count == 3, "\(receiver.received.map(\.delivery))")
        if kill { daemon.kill9() } else { daemon.stop() }
        receiver.set(.status(204))
        let started = ContinuousClock.now
        try await daemon.start()
        try await waitUntil("all 12 delivered after the restart", timeout: .seconds(60), explain: { "\(receiver.accepted.map(\.delivery))" }) {
            try await Self.deliveries(daemon, webhook.id).allSatisfy { $0.state == "delivered" }
        }
        print("12 deliveries after the restart in \(ContinuousClock.now - started) (\(kill ? "SIGKILL" : "SIGTERM"))")
        let log = try await Self.deliveries(daemon, webhook.id)
        #expect(log.count == 12)
        Self.checkExactlyOnceInOrder(receiver, log)
        for lamp in ["lamp-0001", "lamp-0002", "lamp-0003"] {
            let types = receiver.accepted.filter { $0.lamp == lamp }.map(\.type)
            #expect(types == ["lamp.online", "lamp.offline", "lamp.online", "lamp.offline"], "\(lamp): \(types)")
        }
        if !kill {
            // lampctl shows the log and replays a delivery: the receiver gets it again, same id.
            let replayed = try #require(log.last)
            let listed = try ProductRunner.run("lampctl", ["webhooks", "deliveries", "\(webhook.id)"] + daemon.lampctlOptions)
            #expect(listed.status == 0 && listed.stdout.contains("delivered") && listed.stdout.contains("HTTP 204"), "\(listed.stdout)")
            let replay = try ProductRunner.run("lampctl", ["webhooks", "replay", "\(webhook.id)", "\(replayed.id)"] + daemon.lampctlOptions)
            #expect(replay.status == 0 && replay.stdout.contains("delivery \(replayed.id)"), "\(replay.stdout) \(replay.stderr)")
            try await waitUntil("the replayed delivery arrives again") { receiver.accepted.filter { $0.delivery == replayed.id }.count == 2 }
            let shown = try ProductRunner.run("lampctl", ["webhooks", "show", "\(webhook.id)"] + daemon.lampctlOptions)
            #expect(shown.status == 0 && shown.stdout.contains(receiver.url) && !shown.stdout.contains(Self.secret), "\(shown.stdout)")
            let (_, audit): (Int, [AuditView]?) = try await daemon.request("GET", "/audit?action=webhook.replay", body: nil as String?)
            #expect(audit?.count == 1)
        }
        let body = try #require(receiver.accepted.first?.body)
        #expect(body.hasPrefix("{\"delivery\":") && body.contains("\"webhook\":\(webhook.id)") && body.contains("\"type\":\"lamp."), "\(body)")
    }

    @Test("a receiver that refuses (503) and then accepts gets every delivery exactly once, in order per lamp, across a SIGTERM restart")
    func sigtermInRetries() async throws {
        try await restartInRetries(kill: false)
    }

    @Test("the same across SIGKILL in the middle of retries")
    func sigkillInRetries() async throws {
        try await restartInRetries(kill: true)
    }

    @Test("a graceful stop with lamps linked: the lamp.offline events of its own shutdown are delivered after the restart")
    func offlineAtShutdown() async throws {
        let receiver = try await WebhookReceiver(secret: Self.secret)
        defer { Task { await receiver.close() } }
        let daemon = try Daemon(lamps: 2)
        try await daemon.start()
        _ = try Self.add(daemon, receiver.url, events: "lamp.offline")
        let simulator = try Simulator(daemon, count: 2, duration: 60)
        try await waitUntil("2 lamps are online", explain: { simulator.lastLines() }) { try await daemon.onlineCount() == 2 }
        daemon.stop()
        _ = try simulator.finish()
        try await daemon.start()
        try await waitUntil("both lamps' lamp.offline arrive", explain: { "\(receiver.received.map(\.type))" }) {
            Set(receiver.accepted.compactMap(\.lamp)) == ["lamp-0001", "lamp-0002"]
        }
        #expect(receiver.accepted.count == 2 && receiver.accepted.allSatisfy { $0.type == "lamp.offline" })
    }

    @Test("a stalled receiver times out and holds up no other webhook; a refused connection and a huge answer are handled")
    func hostileReceivers() async throws {
        let stalled = try await WebhookReceiver(secret: Self.secret, behaviour: .stall)
        let huge = try await WebhookReceiver(secret: Self.secret, behaviour: .huge(64 << 20))
        let good = try await WebhookReceiver(secret: Self.secret)
        // A port nothing listens on: bind and close a receiver.
        let gone = try await WebhookReceiver(secret: Self.secret)
        let refusedURL = gone.url
        await gone.close()
        defer {
            Task {
                await stalled.close()
                await huge.close()
                await good.close()
            }
        }
        let daemon = try Daemon(lamps: 2)
        try await daemon.start()
        let stalledHook = try Self.add(daemon, stalled.url, events: "lamp.*")
        let refusedHook = try Self.add(daemon, refusedURL, events: "lamp.*")
        let hugeHook = try Self.add(daemon, huge.url, events: "lamp.*")
        _ = try Self.add(daemon, good.url, events: "lamp.online", target: "lamp:lamp-0002", secret: nil)
        let started = ContinuousClock.now
        let simulator = try Simulator(daemon, count: 2, duration: 60)
        try await waitUntil("2 lamps are online", explain: { simulator.lastLines() }) { try await daemon.onlineCount() == 2 }
        try await waitUntil("the good receiver got lamp-0002's online", timeout: .seconds(5)) { !good.accepted.isEmpty }
        let goodLatency = ContinuousClock.now - started
        #expect(good.accepted.count == 1 && good.accepted[0].lamp == "lamp-0002" && good.accepted[0].type == "lamp.online")
        // A generated secret: the good receiver cannot check it with the test's.
        #expect(good.accepted.allSatisfy { !$0.signatureValid })
        try await waitUntil("the huge answer's delivery is delivered", timeout: .seconds(10)) {
            try await Self.deliveries(daemon, hugeHook.id).filter { $0.state == "delivered" }.count == 2
        }
        var refusedLog: [DeliveryView] = []
        try await waitUntil("the refused URL's deliveries are retried", timeout: .seconds(10), explain: { "\(refusedLog)" }) {
            refusedLog = try await Self.deliveries(daemon, refusedHook.id)
            return refusedLog.count == 2
                && refusedLog.allSatisfy { $0.state == "pending" && $0.attempts >= 1 && $0.lastError == "cannot connect: connection refused" }
        }
        // The stalled receiver holds its deliveries until the 10 s request timeout.
        try await waitUntil("the stalled receiver's attempt times out", timeout: .seconds(20)) {
            try await Self.deliveries(daemon, stalledHook.id).contains { $0.lastError == "no answer in time" }
        }
        print("good receiver served in \(goodLatency) beside a stalled one, a refused one and a huge answer")
        let metricsURL = try #require(URL(string: "\(daemon.server)/metrics"))
        let metrics = try await URLSession.shared.data(from: metricsURL).0
        let text = String(decoding: metrics, as: UTF8.self)
        #expect(text.contains("lamplighter_webhook_deliveries_total{outcome=\"delivered\"}"), "\(text.prefix(400))")
        #expect(text.contains("lamplighter_webhook_outbox_depth"))
    }

    @Test("throughput: 200 lamps linking give 200 deliveries, each lamp's in order; figures printed")
    func throughput() async throws {
        let receiver = try await WebhookReceiver(secret: Self.secret)
        defer { Task { await receiver.close() } }
        let daemon = try Daemon(lamps: 200)
        try await daemon.start()
        let webhook = try Self.add(daemon, receiver.url, events: "lamp.online")
        let started = ContinuousClock.now
        let simulator = try Simulator(daemon, count: 200, duration: 60)
        try await waitUntil("200 lamps are online", explain: { simulator.lastLines() }) { try await daemon.onlineCount() == 200 }
        let online = ContinuousClock.now
        try await waitUntil("200 deliveries accepted", timeout: .seconds(60), explain: { "\(receiver.accepted.count)" }) {
            receiver.accepted.count >= 200
        }
        let done = ContinuousClock.now
        let log = try await Self.deliveries(daemon, webhook.id)
        Self.checkExactlyOnceInOrder(receiver, log)
        let seconds = Double((done - started).components.attoseconds) / 1e18 + Double((done - started).components.seconds)
        print("200 lamp.online deliveries: all online after \(online - started), all delivered after \(done - started) (\(Int(200 / seconds)) deliveries/s including the lamps' linking)")
    }

    @Test("bad webhooks are refused at creation with 400 naming the field; only admin may add; limits hold; replay and remove")
    func creationAndLimits() async throws {
        let daemon = try Daemon(lamps: 1)
        try await daemon.start()
        for (url, field) in [("ftp://example.com/x", "url"), ("not a url", "url"), ("http://user:pw@example.com/", "url")] {
            let (status, error): (Int, APIError?) = try await daemon.request("POST", "/webhooks", body: WebhookCreate(url: url))
            #expect(status == 400 && error?.field == field, "\(url): \(status) \(String(describing: error))")
        }
        let (badEvent, eventError): (Int, APIError?) = try await daemon.request(
            "POST", "/webhooks", body: WebhookCreate(url: "http://127.0.0.1:9/", events: ["lamp.status"]))
        #expect(badEvent == 400 && eventError?.error.contains("lamp.status") == true, "\(String(describing: eventError))")
        let (badTarget, _): (Int, APIError?) = try await daemon.request(
            "POST", "/webhooks", body: WebhookCreate(url: "http://127.0.0.1:9/", targets: ["street:1"]))
        #expect(badTarget == 400)
        let (shortSecret, _): (Int, APIError?) = try await daemon.request(
            "POST", "/webhooks", body: WebhookCreate(url: "http://127.0.0.1:9/", secret: "short"))
        #expect(shortSecret == 400)
        let cli = try ProductRunner.run("lampctl", ["webhooks", "add", "ftp://example.com/x"] + daemon.lampctlOptions)
        #expect(cli.status == 65 && cli.stderr.contains("url must be an http:// or https:// URL"), "\(cli.status) \(cli.stderr)")

        // An operator may read but not add.
        let token = try ProductRunner.run("lampctl", ["token", "create", "ops", "--role", "operator", "--json"] + daemon.lampctlOptions)
        let operatorToken = try #require(
            (try? JSONSerialization.jsonObject(with: Data(token.stdout.utf8)) as? [String: Any])?["token"] as? String, "\(token.stdout)")
        let (denied, _): (Int, APIError?) = try await daemon.request(
            "POST", "/webhooks", body: WebhookCreate(url: "http://127.0.0.1:9/"), token: operatorToken)
        #expect(denied == 403)
        let (listed, _): (Int, [WebhookView]?) = try await daemon.request("GET", "/webhooks", token: operatorToken)
        #expect(listed == 200)

        // At most 32 webhooks.
        var made: [WebhookView] = []
        for index in 0..<32 {
            let (status, view): (Int, WebhookView?) = try await daemon.request(
                "POST", "/webhooks", body: WebhookCreate(url: "http://127.0.0.1:9/\(index)", events: ["incident.*"]))
            #expect(status == 201)
            if let view { made.append(view) }
        }
        #expect(made.allSatisfy { ($0.secret ?? "").hasPrefix("whsec_") })
        let (full, fullError): (Int, APIError?) = try await daemon.request("POST", "/webhooks", body: WebhookCreate(url: "http://127.0.0.1:9/x"))
        #expect(full == 409, "\(String(describing: fullError))")
        let (listedAgain, all): (Int, [WebhookView]?) = try await daemon.request("GET", "/webhooks")
        #expect(listedAgain == 200 && all?.count == 32 && all?.allSatisfy { $0.secret == nil } == true)
        let removed = try ProductRunner.run("lampctl", ["webhooks", "remove", "\(made[0].id)"] + daemon.lampctlOptions)
        #expect(removed.status == 0)
        let (gone, _): (Int, APIError?) = try await daemon.request("GET", "/webhooks/\(made[0].id)")
        #expect(gone == 404)
        let (noDelivery, _): (Int, APIError?) = try await daemon.request("POST", "/webhooks/\(made[1].id)/deliveries/999/replay", body: nil as String?)
        #expect(noDelivery == 404)
        let (audit, entries): (Int, [AuditView]?) = try await daemon.request("GET", "/audit?action=webhook.create&limit=100")
        #expect(audit == 200 && entries?.count == 32)
    }
}
