import FleetCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OperatorAPI
import Testing

@testable import Controller

/// The web dashboard's side of the daemon: its static files, `whoami`, the program preview,
/// CORS and the JSON 404, through the real router.
@Suite("Dashboard surface")
struct DashboardTests {
    /// The page and every file it loads, as a browser would ask for them.
    static let files: [(path: String, contentType: String)] = [
        ("/", "text/html; charset=utf-8"),
        ("/dashboard/app.js", "text/javascript; charset=utf-8"),
        ("/dashboard/api.js", "text/javascript; charset=utf-8"),
        ("/dashboard/map.js", "text/javascript; charset=utf-8"),
        ("/dashboard/program-chart.js", "text/javascript; charset=utf-8"),
        ("/dashboard/style.css", "text/css; charset=utf-8"),
        ("/dashboard/favicon.svg", "image/svg+xml"),
    ]

    /// Runs `body` with a test client of the router built with `settings`.
    static func withRouter(
        _ fleet: InProcessFleet, settings: OperatorHTTPSettings = OperatorHTTPSettings(),
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let app = Application(router: OperatorHTTPServer.router(service: fleet.controller.service, metrics: { "" }, settings: settings))
        try await app.test(.router, body)
    }

    /// A response's body as text.
    static func text(_ response: TestResponse) -> String {
        String(buffer: response.body)
    }

    /// A response's body as the API's error, if it is one.
    static func error(_ response: TestResponse) -> APIError? {
        try? APICoding.decoder().decode(APIError.self, from: Data(response.body.readableBytesView))
    }

    @Test("/ and /dashboard/FILE: content types, ETag and no-cache, 304 when current, no token; unknown files 404 JSON")
    func staticFiles() async throws {
        let fleet = try await InProcessFleet(lamps: 0)
        try await Self.withRouter(fleet, settings: OperatorHTTPSettings(mapTiles: "https://tiles.example.org/{z}/{x}/{y}.png")) { client in
            for (path, contentType) in Self.files {
                let response = try await client.execute(uri: path, method: .get)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType] == contentType, "\(path)")
                #expect(response.headers[.cacheControl] == "no-cache", "\(path)")
                #expect(response.headers[.xContentTypeOptions] == "nosniff", "\(path)")
                let etag = try #require(response.headers[.eTag], "\(path) has no ETag")
                #expect(response.body.readableBytes > 100, "\(path)")
                let again = try await client.execute(uri: path, method: .get, headers: [.ifNoneMatch: etag])
                #expect(again.status == .notModified && again.body.readableBytes == 0, "\(path)")
                let stale = try await client.execute(uri: path, method: .get, headers: [.ifNoneMatch: "\"0-0\""])
                #expect(stale.status == .ok, "\(path)")
            }
            let index = try await client.execute(uri: "/", method: .get)
            #expect(Self.text(index).contains(#"<canvas id="map""#))
            let policy = try #require(index.headers[.contentSecurityPolicy])
            #expect(policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"))
            #expect(policy.contains("img-src 'self' data: blob: https://tiles.example.org;"))

            for path in ["/dashboard/nothing.js", "/dashboard/.hidden", "/dashboard/..%2Fopenapi.json"] {
                let missing = try await client.execute(uri: path, method: .get)
                #expect(missing.status == .notFound, "\(path)")
                #expect(missing.headers[.contentType] == "application/json", "\(path)")
                #expect(Self.error(missing)?.field == "file", "\(path)")
            }
            // Any path no route has is a JSON 404 too, with or without a token.
            for path in ["/nowhere", "/api/v1/nowhere", "/dashboard/a/b"] {
                let missing = try await client.execute(uri: path, method: .get)
                #expect(missing.status == .notFound, "\(path)")
                #expect(Self.error(missing)?.error.hasPrefix("no route GET \(path): ") == true, "\(path)")
            }
        }
    }

    @Test("the page's Content Security Policy: this origin, its WebSocket, the tile server's images; a strange Host adds nothing")
    func contentSecurityPolicy() {
        let policy = DashboardFiles.contentSecurityPolicy(host: "127.0.0.1:7380", mapTiles: nil)
        #expect(policy.contains("connect-src 'self' ws://127.0.0.1:7380 wss://127.0.0.1:7380;"))
        #expect(policy.contains("img-src 'self' data: blob:;") && policy.contains("frame-ancestors 'none'"))
        let hostile = DashboardFiles.contentSecurityPolicy(host: "x; script-src *", mapTiles: "https://t.example.org:8443/{z}/{x}/{y}.png")
        #expect(hostile.contains("connect-src 'self';") && !hostile.contains("script-src *"))
        #expect(hostile.contains("img-src 'self' data: blob: https://t.example.org:8443;"))
        #expect(DashboardFiles.tileOrigin("https://{s}.t.example.org/{z}/{x}/{y}.png") == nil)
    }

    /// Every module the page imports, and every file index.html names, is served: a
    /// renamed file cannot leave the page half loaded.
    @Test("every file index.html and the modules refer to is in the bundle")
    func referencesResolve() throws {
        let dashboard = try DashboardFiles.loaded.get()
        var referenced: Set<String> = []
        for (name, file) in dashboard.files where name.hasSuffix(".html") || name.hasSuffix(".js") {
            let text = String(buffer: file.bytes)
            for pattern in [#"/dashboard/([A-Za-z0-9._-]+)"#, #"from "\./([A-Za-z0-9._-]+)""#] {
                let expression = try Regex(pattern)
                for match in text.matches(of: expression) {
                    if let name = match.output[1].substring { referenced.insert(String(name)) }
                }
            }
        }
        #expect(referenced.isSuperset(of: ["app.js", "api.js", "map.js", "program-chart.js", "style.css", "favicon.svg"]))
        #expect(referenced.subtracting(dashboard.files.keys).isEmpty, "missing: \(referenced.subtracting(dashboard.files.keys))")
    }

    @Test("without its resource bundle the dashboard is a 500 JSON error naming where it looked, not a crash")
    func missingDashboardIsA500() async throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("no-dashboard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let loaded = DashboardFiles.load(searching: [empty])
        guard case .failure(let failure) = loaded else {
            Issue.record("found a dashboard in an empty directory")
            return
        }
        #expect(failure.description.contains("Lamplighter_Controller.resources/dashboard was not found in \(empty.path)"))
        let router = Router(context: OperatorRequestContext.self)
        router.get("/") { request, _ in DashboardFiles.response("index.html", request: request, mapTiles: nil, loaded: loaded) }
        let app = Application(router: router)
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/", method: .get)
            #expect(response.status == .internalServerError)
            #expect(Self.error(response)?.error.contains("the dashboard is missing") == true)
        }
    }

    @Test("whoami: each role's token name and role, and the tile server; a bad token is 401")
    func whoAmI() async throws {
        let fleet = try await InProcessFleet(lamps: 1)
        try await Self.withRouter(fleet, settings: OperatorHTTPSettings(mapTiles: "https://tiles.example.org/{z}/{x}/{y}.png")) { client in
            for role in Role.allCases {
                let response = try await client.execute(
                    uri: "/api/v1/whoami", method: .get, headers: [.authorization: "Bearer \(fleet.tokens[role] ?? "")"])
                let who = try APICoding.decoder().decode(WhoAmI.self, from: Data(response.body.readableBytesView))
                #expect(who == WhoAmI(name: role.rawValue, role: role.rawValue, mapTiles: "https://tiles.example.org/{z}/{x}/{y}.png"))
            }
            let bad = try await client.execute(uri: "/api/v1/whoami", method: .get, headers: [.authorization: "Bearer nonsense"])
            #expect(bad.status == .unauthorized && Self.error(bad)?.error == "the token is not valid (unknown or revoked)")
        }
        try await fleet.withClient { api in
            let (status, who) = try await api.call(.get, "/whoami", as: .viewer, WhoAmI.self)
            #expect(status == 200 && who?.mapTiles == nil)
        }
    }

    @Test("CORS: no headers by default; with --cors-origin, preflights and answers carry that origin only")
    func cors() async throws {
        let fleet = try await InProcessFleet(lamps: 1)
        let origin = "https://ops.example.org"
        try await Self.withRouter(fleet) { client in
            let plain = try await client.execute(uri: "/api/v1/whoami", method: .get, headers: [.origin: origin, .authorization: "Bearer \(fleet.tokens[.viewer] ?? "")"])
            #expect(plain.status == .ok && plain.headers[.accessControlAllowOrigin] == nil)
        }
        try await Self.withRouter(fleet, settings: OperatorHTTPSettings(corsOrigin: origin)) { client in
            let preflight = try await client.execute(
                uri: "/api/v1/commands", method: .options,
                headers: [.origin: origin, .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "authorization, content-type"])
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowOrigin] == origin)
            #expect(preflight.headers[.accessControlAllowHeaders]?.contains("authorization") == true)
            #expect(preflight.headers[.accessControlAllowMethods]?.contains("DELETE") == true)
            let answer = try await client.execute(
                uri: "/api/v1/whoami", method: .get, headers: [.origin: origin, .authorization: "Bearer \(fleet.tokens[.viewer] ?? "")"])
            #expect(answer.status == .ok && answer.headers[.accessControlAllowOrigin] == origin)
            // Refusals carry it too, so the other app can read why.
            let refused = try await client.execute(uri: "/api/v1/lamps", method: .get, headers: [.origin: origin])
            #expect(refused.status == .unauthorized && refused.headers[.accessControlAllowOrigin] == origin)
            let other = try await client.execute(
                uri: "/api/v1/whoami", method: .get, headers: [.origin: "https://evil.example", .authorization: "Bearer \(fleet.tokens[.viewer] ?? "")"])
            #expect(other.headers[.accessControlAllowOrigin] == nil)
        }
        #expect(OperatorHTTPSettings.corsOriginProblem("*") == nil)
        #expect(OperatorHTTPSettings.corsOriginProblem("https://ops.example.org:8443") == nil)
        #expect(OperatorHTTPSettings.corsOriginProblem("ops.example.org") != nil)
        #expect(OperatorHTTPSettings.corsOriginProblem("https://ops.example.org/app") != nil)
        #expect(OperatorHTTPSettings.mapTilesProblem("https://t.example.org/{z}/{x}/{y}.png") == nil)
        #expect(OperatorHTTPSettings.mapTilesProblem("https://t.example.org/tiles.png") != nil)
        #expect(OperatorHTTPSettings.mapTilesProblem("file:///tmp/{z}/{x}/{y}.png") != nil)
    }

    /// The README's midnight program in Amsterdam on 20 November 2026, in UTC (the in-process
    /// fleet's zone): `lampctl program preview` prints the same night an hour later (CET).
    @Test("program preview: the night's switch points and the sun, at a place or the daemon's default; refusals name the field")
    func programPreview() async throws {
        let fleet = try await InProcessFleet(lamps: 2, latitude: 52.3676, longitude: 4.9041)
        try await fleet.withClient { api in
            let source = "sunset-10m    100%   fade 10s\n23:00         30%    fade 10s\nsunrise+10m   off\n"
            let (saved, _) = try await api.call(.put, "/programs/midnight", body: ProgramSave(source: source), as: .operator, ProgramView.self)
            #expect(saved == 201)
            let (status, preview) = try await api.call(.get, "/programs/midnight/preview?date=2026-11-20", as: .viewer, ProgramPreview.self)
            #expect(status == 200)
            let night = try #require(preview)
            #expect(night.date == "2026-11-20" && night.latitude == 52.3676 && night.longitude == 4.9041 && night.timeZone == "UTC0")
            #expect(night.points.map(\.localTime) == ["15:31", "23:00", "07:22 +1"])
            #expect(night.points.map(\.change) == ["switch on at 100%", "dim to 30%", "switch off"])
            #expect(night.points.map(\.trigger) == ["sunset-10m", "23:00", "sunrise+10m"])
            #expect(night.points.map(\.level) == [100, 30, 0] && night.points.map(\.fadeSeconds) == [10, 10, 0])
            #expect(night.sun.map(\.event) == ["sunset", "civil dusk", "civil dawn", "sunrise"])
            #expect(night.sun.first?.localTime == "15:41" && night.sun.last?.localTime == "07:12 +1")
            #expect(night.levelAtStart == 0 && night.polar == nil && night.lamps == 0)
            #expect(night.end.timeIntervalSince(night.start) == 86_400)
            #expect(night.start == Date(timeIntervalSince1970: 1_795_176_000))  // 2026-11-20T12:00:00Z

            // Tromsø in December: polar night, and the lamps stay on from the midnight before.
            let (_, polar) = try await api.call(
                .get, "/programs/midnight/preview?date=2026-12-20&latitude=69.65&longitude=18.96", as: .viewer, ProgramPreview.self)
            #expect(polar?.polar == "polar night" && polar?.sun.contains { $0.event == "sunset" } == false)

            for (query, field) in [
                ("date=2026-02-30", "date"), ("date=20261120", "date"), ("latitude=91&longitude=4", "latitude"),
                ("latitude=52", "longitude"), ("longitude=x&latitude=1", "longitude"),
            ] {
                let (code, error) = try await api.call(.get, "/programs/midnight/preview?\(query)", as: .viewer, APIError.self)
                #expect(code == 400 && error?.field == field, "\(query): \(String(describing: error))")
            }
            let (missing, _) = try await api.call(.get, "/programs/nobody/preview", as: .viewer, APIError.self)
            #expect(missing == 404)
        }
        // Without a default place, the place is required.
        let homeless = try await InProcessFleet(lamps: 1)
        try await homeless.withClient { api in
            _ = try await api.call(.put, "/programs/p", body: ProgramSave(source: "sunset on\nsunrise off\n"), as: .operator, ProgramView.self)
            let (code, error) = try await api.call(.get, "/programs/p/preview", as: .viewer, APIError.self)
            #expect(code == 400 && error?.field == "latitude")
            let (placed, _) = try await api.call(.get, "/programs/p/preview?latitude=1&longitude=2", as: .viewer, ProgramPreview.self)
            #expect(placed == 200)
        }
    }
}
