import FleetCore
import Foundation
import HTTPTypes
import Hummingbird
import LightingPrograms
import NIOCore
import OperatorAPI

/// Settings of the operator HTTP server beyond the fleet service: what `lamplighterd run`
/// passes from its flags.
public struct OperatorHTTPSettings: Sendable {
    /// The origin other web apps call the API from (`--cors-origin`): `https://host[:port]`,
    /// or `*` for any; nil sends no CORS headers (the dashboard, served from the API's own
    /// origin, needs none).
    public var corsOrigin: String?
    /// A map tile server for the dashboard (`--map-tiles`): a URL with `{z}`, `{x}` and `{y}`.
    public var mapTiles: String?

    /// Settings.
    public init(corsOrigin: String? = nil, mapTiles: String? = nil) {
        self.corsOrigin = corsOrigin
        self.mapTiles = mapTiles
    }

    /// Why `origin` is not a CORS origin (`*`, or `http(s)://host[:port]` without a path), or
    /// nil when it is one.
    public static func corsOriginProblem(_ origin: String) -> String? {
        if origin == "*" { return nil }
        guard let schemeEnd = origin.range(of: "://"), ["http", "https"].contains(origin[..<schemeEnd.lowerBound]) else {
            return "must be * or an origin such as https://ops.example.org (scheme, host and optional port)"
        }
        let host = origin[schemeEnd.upperBound...]
        guard !host.isEmpty, !host.contains("/"), !host.contains("?"), !host.contains("#"), !host.contains(" ") else {
            return "must be an origin without a path, such as https://ops.example.org:8443"
        }
        return nil
    }

    /// Why `template` is not a tile URL template, or nil when it is one.
    public static func mapTilesProblem(_ template: String) -> String? {
        guard DashboardFiles.tileOrigin(template) != nil else {
            return "must be an http or https URL, e.g. https://tiles.example.org/{z}/{x}/{y}.png"
        }
        guard template.contains("{z}"), template.contains("{x}"), template.contains("{y}") else {
            return "must contain {z}, {x} and {y}, e.g. https://tiles.example.org/{z}/{x}/{y}.png"
        }
        return nil
    }
}

extension OperatorHTTPServer {
    /// Middleware every route gets, added before any route: CORS when configured, and the
    /// router's own 404 (no such route) as the API's JSON error.
    static func commonMiddleware(_ router: Router<Context>, _ settings: OperatorHTTPSettings) {
        if let origin = settings.corsOrigin {
            router.add(
                middleware: CORSMiddleware(
                    allowOrigin: origin == "*" ? .all : .oneOf(origin),
                    allowHeaders: [.accept, .authorization, .contentType, .origin, OperatorHTTPServer.idempotencyKeyField],
                    allowMethods: [.get, .post, .put, .delete, .head, .options],
                    maxAge: .seconds(600)))
        }
        // Inside CORS, so an error answer still carries its headers; it wraps every route and
        // the router's own "no such route".
        router.add(middleware: JSONErrorMiddleware())
    }

    /// The dashboard's files at `/` and `/dashboard/FILE`, no token needed.
    static func dashboardRoutes(_ router: Router<Context>, _ settings: OperatorHTTPSettings) {
        let mapTiles = settings.mapTiles
        router.get("/") { request, _ in
            DashboardFiles.response("index.html", request: request, mapTiles: mapTiles)
        }
        router.get("/dashboard/:file") { request, context in
            DashboardFiles.response(context.parameters.get("file") ?? "", request: request, mapTiles: mapTiles)
        }
    }

    /// `GET /api/v1/whoami`: the caller's token name and role, for any valid token.
    static func whoAmIRoute(_ api: RouterGroup<Context>, _ service: FleetService, _ settings: OperatorHTTPSettings) {
        let mapTiles = settings.mapTiles
        route(api, .get, "whoami", .viewer, service) { _, _, caller in
            try json(WhoAmI(name: caller.name, role: caller.role.rawValue, mapTiles: mapTiles))
        }
    }

    /// `GET /api/v1/programs/{name}/preview?date=YYYY-MM-DD&latitude=&longitude=`.
    static func previewRoute(_ api: RouterGroup<Context>, _ service: FleetService) {
        route(api, .get, "programs/:name/preview", .viewer, service) { request, context, _ in
            let query = request.uri.queryParameters
            let date = try query.get("date").map { text throws(APIFailure) in try civilDate(text) }
            let latitude = try coordinate(query.get("latitude"), name: "latitude", limit: 90)
            let longitude = try coordinate(query.get("longitude"), name: "longitude", limit: 180)
            return try json(
                try await service.preview(context.parameters.get("name") ?? "", date: date, latitude: latitude, longitude: longitude))
        }
    }

    /// `GET /api/v1/programs/{name}/forecast?year=&latitude=&longitude=&wattage=`.
    static func forecastRoute(_ api: RouterGroup<Context>, _ service: FleetService) {
        route(api, .get, "programs/:name/forecast", .viewer, service) { request, context, _ in
            let query = request.uri.queryParameters
            let year = try integer(query.get("year"), name: "year", default: Calendar(identifier: .gregorian).component(.year, from: service.now) + 1, range: 1970...2199)
            let latitude = try coordinate(query.get("latitude"), name: "latitude", limit: 90)
            let longitude = try coordinate(query.get("longitude"), name: "longitude", limit: 180)
            var wattage: Double?
            if let text = query.get("wattage") {
                guard let value = Double(text), value.isFinite, value > 0, value <= 1_000_000_000 else {
                    throw APIFailure.badRequest("must be watts above 0", field: "wattage")
                }
                wattage = value
            }
            let timeZone = try query.get("timezone").map(zone)
            return try json(
                try await service.forecast(
                    context.parameters.get("name") ?? "", year: year, latitude: latitude, longitude: longitude, wattage: wattage,
                    timeZone: timeZone))
        }
    }

    /// The longest `timezone` parameter read (IANA names are under 40 bytes, POSIX rules at
    /// most 63).
    static let maximumTimeZoneLength = 100

    /// A time zone: an IANA name (e.g. Europe/Amsterdam) looked up in the daemon's zone
    /// database, or a POSIX rule; anything else is a 400 naming `timezone`.
    static func zone(_ text: String) throws(APIFailure) -> PosixTimeZone {
        guard !text.isEmpty, text.utf8.count <= maximumTimeZoneLength else {
            throw .badRequest("must be an IANA time zone such as Europe/Amsterdam (1 to \(maximumTimeZoneLength) bytes)", field: "timezone")
        }
        do {
            return try PosixTimeZone.resolve(text) { path in FileManager.default.contents(atPath: path).map { [UInt8]($0) } }
        } catch {
            throw .badRequest(error.message, field: "timezone")
        }
    }

    /// A `YYYY-MM-DD` date from 1970 to 2199.
    static func civilDate(_ text: String) throws(APIFailure) -> CivilDate {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]), (1970...2199).contains(year),
            let date = CivilDate(year: year, month: month, day: day)
        else {
            throw .badRequest("must be a date YYYY-MM-DD from 1970 to 2199", field: "date")
        }
        return date
    }

    /// Degrees within ±`limit`, or nil when not given.
    static func coordinate(_ text: String?, name: String, limit: Double) throws(APIFailure) -> Double? {
        guard let text else { return nil }
        guard let value = Double(text), value.isFinite, (-limit...limit).contains(value) else {
            throw .badRequest("must be decimal degrees from -\(Int(limit)) to \(Int(limit))", field: name)
        }
        return value
    }
}
