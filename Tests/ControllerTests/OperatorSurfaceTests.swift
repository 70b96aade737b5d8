import FleetCore
import FleetStore
import Hummingbird
import Foundation
import LampAuth
import LampProtocol
import Logging
import OperatorAPI
import Synchronization
import Testing

@testable import Controller

/// The OpenAPI document against the router, and the event hub's rules.
@Suite("Operator surface")
struct OperatorSurfaceTests {
    static func service() throws -> FleetService {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("surface-\(UUID().uuidString).db").path
        let controller = FleetController(
            store: try FleetStore(path: path), fleet: FleetState(stored: []), fleetKey: FleetKey(hex: String(repeating: "22", count: 32))!,
            gateway: GatewayConfiguration(host: "127.0.0.1", port: 0), logger: Logger(label: "test"))
        return controller.service
    }

    @Test("/openapi.json lists exactly the router's routes, each with its role")
    func openAPIMatchesRoutes() throws {
        let router = OperatorHTTPServer.router(service: try Self.service(), metrics: { "" })
        let routes = Set(
            router.routes.map { route in
                let path = route.path.description.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                return "\(route.method.rawValue.uppercased()) /" + path.joined(separator: "/")
            })
        // From the resource bundle (Sources/Controller/Resources/openapi.json).
        let text = try OpenAPIDocument.loaded.get()
        #expect(OpenAPIDocument.json == text)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let info = try #require(document["info"] as? [String: Any])
        #expect(info["x-generated-by"] as? String == "scripts/make-openapi.py (edit the script, not this file)")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        for (path, operations) in paths {
            for (method, operation) in operations {
                documented.insert("\(method.uppercased()) \(path)")
                let details = try #require(operation as? [String: Any])
                if path.hasPrefix("/api/v1") {
                    #expect(["viewer", "operator", "admin"].contains(details["x-role"] as? String), "\(method) \(path) has no role")
                }
            }
        }
        #expect(routes == documented, "only in the router: \(routes.subtracting(documented)); only documented: \(documented.subtracting(routes))")
        #expect(routes.count >= 20)
    }

    /// The loader against an empty directory and a bundle whose file is not JSON.
    @Test("without its resource bundle the document is a clear 500 JSON error naming where it looked, not a crash")
    func missingDocumentIsA500() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("no-bundle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let loaded = OpenAPIDocument.load(searching: [empty])
        guard case .failure(let failure) = loaded else {
            Issue.record("found a document in an empty directory")
            return
        }
        #expect(failure.description.contains("Lamplighter_Controller.resources/openapi.json was not found in \(empty.path)"))
        let response = OpenAPIDocument.response(loaded)
        #expect(response.status == .internalServerError && response.headers[.contentType] == "application/json")

        // A bundle whose file is not a JSON object is refused too.
        let bundle = empty.appendingPathComponent("Lamplighter_Controller.resources")
        try FileManager.default.createDirectory(at: bundle, withIntermediateDirectories: true)
        try Data("not json".utf8).write(to: bundle.appendingPathComponent("openapi.json"))
        guard case .failure(let notJSON) = OpenAPIDocument.load(searching: [empty]) else {
            Issue.record("accepted a document that is not JSON")
            return
        }
        #expect(notJSON.description.contains("could not be read"))
        #expect(OpenAPIDocument.response().status == .ok)
    }

    @Test("a subscriber that falls behind is cut off once, with the reason, and never blocks the publisher")
    func slowSubscriberIsCutOff() async throws {
        let hub = EventHub(bufferLimit: 16)
        let disconnects = Counter()
        let slow = hub.subscribe { disconnects.add() }
        let fast = hub.subscribe {}
        _ = slow.subscribe([StreamChannel.fleet], statusIntervalMilliseconds: 0, limit: 10)
        _ = fast.subscribe(["lamp:lamp-0001"], statusIntervalMilliseconds: 0, limit: 10)
        let lamp = LampID("lamp-0001")!
        var drained = 0
        for index in 0..<100 {
            hub.publishLamp(lamp, isStatus: true, atMilliseconds: UInt64(index), groups: { [] }) {
                StreamEvent(type: "lamp.status", at: Date(), lamp: "lamp-0001")
            }
            // The fast subscriber keeps up.
            if case .messages(let batch) = await fast.next() { drained += batch.count }
        }
        #expect(drained == 100)
        #expect(disconnects.value == 1)
        guard case .overflowed = await slow.next() else {
            Issue.record("the slow subscriber was not cut off")
            return
        }
        #expect(slow.overflowReason == "subscriber too slow: more than 16 events waiting")
        hub.unsubscribe(slow)
        hub.unsubscribe(fast)
        #expect(!hub.isActive)
    }

    @Test("status events are rate-limited per subscriber and lamp; channels match lamps, groups and the fleet")
    func matchingAndRateLimit() async throws {
        let hub = EventHub(bufferLimit: 100)
        let subscriber = hub.subscribe {}
        _ = subscriber.subscribe(["group:north"], statusIntervalMilliseconds: 1000, limit: 10)
        let north = LampID("n1")!
        let south = LampID("s1")!
        for (lamp, at) in [(north, 0), (north, 500), (south, 600), (north, 1000), (north, 1500)] {
            hub.publishLamp(lamp, isStatus: true, atMilliseconds: UInt64(at), groups: { lamp == north ? ["north"] : ["south"] }) {
                StreamEvent(type: "lamp.status", at: Date(timeIntervalSince1970: Double(at) / 1000), lamp: lamp.value)
            }
        }
        hub.publishLamp(north, isStatus: false, atMilliseconds: 1600, groups: { ["north"] }) {
            StreamEvent(type: "lamp.offline", at: Date(), lamp: "n1")
        }
        hub.publishCommand(.group("north"), event: StreamEvent(type: "command.applied", at: Date()))
        hub.publishCommand(.group("south"), event: StreamEvent(type: "command.applied", at: Date()))
        guard case .messages(let batch) = await subscriber.next() else {
            Issue.record("no messages")
            return
        }
        let events = try batch.map { try APICoding.decoder().decode(StreamEvent.self, from: Data($0.utf8)) }
        #expect(events.map(\.type) == ["lamp.status", "lamp.status", "lamp.offline", "command.applied"])
        #expect(events.prefix(2).map(\.at.timeIntervalSince1970) == [0, 1])
        #expect(subscriber.subscribe(Array(repeating: "x", count: 1).map { "lamp:\($0)" } + ["fleet"], statusIntervalMilliseconds: nil, limit: 2) == nil)
    }
}

final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

@Suite("Program mismatches")
struct ProgramMismatchTests {
    @Test("a report is judged against the program's level and the sun")
    func classify() {
        #expect(ProgramMismatch.classify(expected: 0, reported: 0, lit: false, sunUp: true) == nil)
        #expect(ProgramMismatch.classify(expected: 0, reported: 1000, lit: true, sunUp: true) == .onByDay)
        #expect(ProgramMismatch.classify(expected: 0, reported: 1000, lit: true, sunUp: false) == .onWhenOff)
        #expect(ProgramMismatch.classify(expected: 300, reported: 0, lit: false, sunUp: false) == .offAtNight)
        #expect(ProgramMismatch.classify(expected: 300, reported: 0, lit: false, sunUp: true) == .offWhenOn)
        #expect(ProgramMismatch.classify(expected: 300, reported: 340, lit: true, sunUp: false) == nil)
        #expect(ProgramMismatch.classify(expected: 300, reported: 1000, lit: true, sunUp: false) == .wrongLevel(expected: 300, reported: 1000))
        #expect(ProgramMismatch.wrongLevel(expected: 300, reported: 1000).description == "wrong level: expected 30%, reported 100%")
    }
}
