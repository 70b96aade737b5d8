import FleetCore
import Testing

/// Webhooks' pure parts: matching, the signature, the body, retry timing.
@Suite("Webhooks")
struct WebhookCoreTests {
    @Test("the signature is HMAC-SHA256 over \"<t>.<body>\" (Python's hmac gives the same)")
    func signature() {
        let body = Array(#"{"delivery":7,"webhook":2,"type":"incident.opened"}"#.utf8)
        #expect(
            WebhookRecord.signature(secret: "whsec_test", unixSeconds: 1_764_500_000, body: body)
                == "t=1764500000,v1=46c99ff4bcb2f562a767bcad2d71a4e1a09a8b2a72ee4bd75e6576fd4f73b0cf")
    }

    @Test("the body is the stream's event with delivery and webhook first")
    func body() {
        let delivery = DeliveryRecord(
            id: 7, webhookID: 2, lamp: "a", type: "incident.opened", event: #"{"type":"incident.opened","lamp":"a"}"#, createdAtMilliseconds: 1,
            nextAttemptMilliseconds: 1)
        #expect(String(decoding: delivery.body, as: UTF8.self) == #"{"delivery":7,"webhook":2,"type":"incident.opened","lamp":"a"}"#)
    }

    @Test("event patterns and targets: an event about no lamp goes only to all")
    func matching() {
        let hook = WebhookRecord(
            id: 1, url: "http://x/", secret: "s", events: ["incident.*", "lamp.fault"], targets: ["lamp:a", "group:north"],
            createdAtMilliseconds: 0, createdBy: "t")
        #expect(hook.matches(type: "incident.opened", lamp: "a") { [] })
        #expect(hook.matches(type: "lamp.fault", lamp: "b") { ["north"] })
        #expect(!hook.matches(type: "lamp.fault", lamp: "b") { ["south"] })
        #expect(!hook.matches(type: "lamp.online", lamp: "a") { [] })
        #expect(!hook.matches(type: "incident.opened", lamp: nil) { [] })
        var all = hook
        all.targets = ["all"]
        #expect(all.matches(type: "incident.opened", lamp: nil) { [] })
        #expect(WebhookRecord.isKnownPattern("*") && WebhookRecord.isKnownPattern("incident.*") && !WebhookRecord.isKnownPattern("lamp.status"))
        #expect(!WebhookRecord.isKnownPattern("command.progress") && !WebhookRecord.isKnownPattern("nope.*"))
    }

    @Test("retries back off exponentially from 1 s to 5 min with up to 20 % jitter, and give up after 20 attempts or 24 h")
    func retries() {
        let limits = WebhookLimits()
        #expect(limits.retryDelay(afterAttempts: 1, random: 0) == 1_000)
        #expect(limits.retryDelay(afterAttempts: 2, random: 0) == 2_000)
        #expect(limits.retryDelay(afterAttempts: 4, random: 0.5) == 8_800)
        #expect(limits.retryDelay(afterAttempts: 12, random: 0) == 300_000)
        #expect(limits.retryDelay(afterAttempts: 60, random: 1) == 360_000)
        #expect(!limits.givesUp(attempts: 19, createdAtMilliseconds: 0, atMilliseconds: 1000))
        #expect(limits.givesUp(attempts: 20, createdAtMilliseconds: 0, atMilliseconds: 1000))
        #expect(limits.givesUp(attempts: 1, createdAtMilliseconds: 0, atMilliseconds: 24 * 3_600_000))
    }
}
