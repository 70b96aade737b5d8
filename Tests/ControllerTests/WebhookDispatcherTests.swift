import FleetCore
import Glibc
import FleetStore
import Foundation
import LampProtocol
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import Controller

/// The dispatcher's give-up and replay, on a real store and a real (refusing) connection,
/// with limits small enough to watch.
@Suite("Webhook dispatcher")
struct WebhookDispatcherTests {
    @Test("a delivery that keeps failing is given up (failed) after maximumAttempts, the lamp's next one goes, and a replay queues it again")
    func givesUpAndReplays() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("webhooks-\(UUID().uuidString).db").path
        let store = try FleetStore(path: path)
        // A port nothing listens on: connections are refused at once. Held for the whole
        // test, so no other test's server can take it (a port bound and closed again could be
        // handed to one, and a delivery then hung on it instead of being refused).
        let refusing = try RefusingPort()
        defer { refusing.close() }
        let port = refusing.port
        let audit = AuditRecord(atMilliseconds: 1, actor: "t", role: "admin", action: "webhook.create", target: "webhook", detail: "", outcome: "ok")
        let hook = try store.addWebhook(
            WebhookRecord(
                id: 0, url: "http://127.0.0.1:\(port)/", secret: "0123456789abcdef", events: ["lamp.*"], targets: ["all"],
                createdAtMilliseconds: 1, createdBy: "t"), maximum: 32, audit: audit)
        var limits = WebhookLimits()
        limits.maximumAttempts = 2
        limits.firstRetryMilliseconds = 50
        limits.connectTimeoutMilliseconds = 500
        let dispatcher = WebhookDispatcher(
            store: store, fleet: FleetState(stored: []), limits: limits, clock: SystemClock(), group: MultiThreadedEventLoopGroup.singleton,
            logger: Logger(label: "test"))
        let running = Task { try await dispatcher.run() }
        defer { running.cancel() }
        try await dispatcher.reload()
        let lamp = LampID("lamp-1")!
        dispatcher.offer(.online(lamp, firmware: "1"), atMilliseconds: SystemClock().nowMilliseconds())
        dispatcher.offer(.offline(lamp), atMilliseconds: SystemClock().nowMilliseconds())
        var log: [DeliveryRecord] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            log = try store.deliveries(webhook: hook.id, limit: 10)
            if log.count == 2 && log.allSatisfy({ $0.state == .failed }) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(log.map(\.type) == ["lamp.offline", "lamp.online"], "\(log)")
        #expect(log.allSatisfy { $0.state == .failed && $0.attempts == 2 && $0.lastError == "cannot connect: connection refused" }, "\(log)")
        let first = try #require(log.last)
        let replayed = try store.replayDelivery(first.id, webhook: hook.id, atMilliseconds: SystemClock().nowMilliseconds(), audit: audit)
        #expect(replayed?.state == .pending && replayed?.attempts == 0)
        var again: DeliveryRecord?
        while ContinuousClock.now < deadline + .seconds(10) {
            again = try store.deliveries(webhook: hook.id, limit: 10).first { $0.id == first.id }
            if again?.state == .failed { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(again?.state == .failed && again?.attempts == 2, "\(String(describing: again))")
    }
}

/// A TCP port bound on 127.0.0.1 and never listened on: the kernel refuses every connection to
/// it, and keeps it from anyone else while it is held.
final class RefusingPort: Sendable {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw RefusingPortError.failed("socket") }
        // struct sockaddr_in as its 16 bytes (family, port 0, 127.0.0.1), so no field of a C
        // struct another module defines is touched.
        var address: [UInt8] = [UInt8(AF_INET), 0, 0, 0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        var length = socklen_t(address.count)
        let named = address.withUnsafeMutableBytes { bytes -> Bool in
            let socketAddress = bytes.baseAddress!.assumingMemoryBound(to: sockaddr.self)
            return bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
        }
        guard named else {
            Glibc.close(descriptor)
            throw RefusingPortError.failed("bind")
        }
        self.descriptor = descriptor
        // The port, in network byte order at bytes 2 and 3.
        port = Int(address[2]) << 8 | Int(address[3])
    }

    func close() {
        Glibc.close(descriptor)
    }
}

enum RefusingPortError: Error {
    case failed(String)
}
