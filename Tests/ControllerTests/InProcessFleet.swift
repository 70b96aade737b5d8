import FleetCore
import FleetStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LampAuth
import LampProtocol
import LightingPrograms
import Logging
import NIOCore
import OperatorAPI

@testable import Controller

/// A whole controller in this process: a store in a temporary file, the fleet model, the
/// service and the operator API's router, a manual clock, and a token per role. Requests go
/// to the router directly (HummingbirdTesting), lamps' links are simulated at the fleet
/// model: no process, no socket, no sleep.
struct InProcessFleet: Sendable {
    let controller: FleetController
    let clock: ManualClock
    let tokens: [Role: String]

    /// A fleet of `lamps` lamps `lamp-1`... (even ones in group `even`), optionally with a place;
    /// `store` may wrap the SQLite store in a test double.
    init(
        lamps: Int, latitude: Double? = nil, longitude: Double? = nil,
        store wrap: @Sendable (FleetStore) -> any FleetStoring = { $0 }
    ) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("inprocess-\(UUID().uuidString).db").path
        let store = try FleetStore(path: path)
        let records = (0..<lamps).map {
            LampRecord(id: LampID("lamp-\($0 + 1)")!, groups: ($0 + 1) % 2 == 0 ? ["even"] : [])
        }
        if !records.isEmpty { try store.addLamps(records, atMilliseconds: 1) }
        let fleet = FleetState(stored: try store.loadAll())
        fleet.withModel {
            $0.loadPrograms([], defaults: ProgramDefaults(timeZone: .utc, latitude: latitude, longitude: longitude))
        }
        let clock = ManualClock()
        controller = FleetController(
            store: wrap(store), fleet: fleet, fleetKey: FleetKey(hex: String(repeating: "33", count: 32))!,
            gateway: GatewayConfiguration(host: "127.0.0.1", port: 0), clock: clock, logger: Logger(label: "test"))
        self.clock = clock
        var tokens: [Role: String] = [:]
        for role in Role.allCases {
            tokens[role] = try await FleetService.issueToken(
                TokenCreate(name: role.rawValue, role: role.rawValue), store: store, by: Caller(name: "test", role: .admin),
                atMilliseconds: 1, logger: Logger(label: "test")
            ).token
        }
        self.tokens = tokens
    }

    /// Runs `body` with a client of the operator API's router.
    func withClient(_ body: @escaping @Sendable (APIClient) async throws -> Void) async throws {
        let app = Application(router: OperatorHTTPServer.router(service: controller.service, metrics: { "" }))
        try await app.test(.router) { client in
            try await body(APIClient(send: { method, path, headers, body in
                let response = try await client.execute(uri: path, method: method, headers: headers, body: body)
                return (Int(response.status.code), Data(response.body.readableBytesView))
            }, tokens: tokens))
        }
    }

    /// A lamp's link authenticates (as the gateway's handler would make it).
    func linkUp(_ number: Int, applied: UInt32 = 0) {
        let now = clock.nowMilliseconds()
        let events = controller.fleet.withModel { model -> [FleetEvent] in
            _ = model.linkUp(Self.hello(number, applied: applied), atMilliseconds: now)
            return model.takeEvents()
        }
        controller.events.emit(events, atMilliseconds: now)
    }

    /// A linked lamp acknowledges control `version` (as its link machine reports it).
    func acknowledge(_ number: Int, version: UInt32) {
        let now = clock.nowMilliseconds()
        let events = controller.fleet.withModel { model -> [FleetEvent] in
            guard let slot = model.slot(of: LampID("lamp-\(number)")!) else { return [] }
            _ = model.noteControlApplied(slot, version: version, atMilliseconds: now)
            return model.takeEvents()
        }
        controller.events.emit(events, atMilliseconds: now)
    }

    /// A linked lamp refuses control `version`.
    func refuse(_ number: Int, version: UInt32) {
        controller.fleet.withModel { model in
            guard let slot = model.slot(of: LampID("lamp-\(number)")!) else { return }
            model.noteRefused(slot, version: version, reason: .unsupported, atMilliseconds: clock.nowMilliseconds())
        }
    }

    static func hello(_ number: Int, applied: UInt32) -> Hello {
        Hello(
            lampID: LampID("lamp-\(number)")!, firmware: FirmwareVersion("t")!, capabilities: [.dimmable, .programs],
            appliedVersion: applied, configVersion: 1, programRevision: 0, clock: 0, clientNonce: .zero, mac: .zero)
    }
}

/// Requests to the router as a role, JSON in and out.
struct APIClient: Sendable {
    let send: @Sendable (HTTPRequest.Method, String, HTTPFields, ByteBuffer?) async throws -> (Int, Data)
    let tokens: [Role: String]

    /// Sends `json` (raw text) and decodes the answer as `T` (nil if it is not one).
    func call<T: Decodable>(
        _ method: HTTPRequest.Method, _ path: String, json: String? = nil, as role: Role = .admin, token: String? = nil,
        _ type: T.Type = T.self
    ) async throws -> (Int, T?) {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let bearer = token ?? tokens[role] { headers[.authorization] = "Bearer \(bearer)" }
        let (status, data) = try await send(method, "/api/v1" + path, headers, json.map { ByteBuffer(string: $0) })
        return (status, try? APICoding.decoder().decode(T.self, from: data))
    }

    /// Sends `value` as JSON.
    func call<T: Decodable>(
        _ method: HTTPRequest.Method, _ path: String, body value: some Encodable, as role: Role = .admin, _ type: T.Type = T.self
    ) async throws -> (Int, T?) {
        let json = String(decoding: try APICoding.encoder().encode(value), as: UTF8.self)
        return try await call(method, path, json: json, as: role, type)
    }
}
