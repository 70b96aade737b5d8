import FleetCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import LampProtocol
import Logging
import NIOCore
import OperatorAPI

/// The operator HTTP API (JSON) on Hummingbird 2. Every route under `/api/v1` needs a bearer
/// token; the role each needs is in ``routes`` (and in `/openapi.json`):
///
/// | method | path | role | does |
/// |---|---|---|---|
/// | GET | /lamps?group=&mode=&online=&fault=&offset=&limit= | viewer | a page of lamps |
/// | POST | /lamps | admin | register one lamp or an array of lamps |
/// | GET | /lamps/{id} | viewer | one lamp: desired versus reported, recent events |
/// | PATCH | /lamps/{id} | admin | change its name, place, wattage or cabinet |
/// | DELETE | /lamps/{id} | admin | remove it (its events stay) |
/// | GET | /groups | viewer | every group and its size |
/// | POST | /groups | operator | create an empty group |
/// | GET | /groups/{name} | viewer | one group |
/// | DELETE | /groups/{name} | operator | delete a group (its lamps stay) |
/// | POST | /groups/{name}/members | operator | add and remove lamps |
/// | POST | /commands | operator | a command to `lamp:ID`, `group:NAME` or `all` |
/// | GET | /commands/{id} | viewer | its progress: applied, failed, pending |
/// | GET | /events?lamp=&kind=&before=&limit= | viewer | the event history, newest first |
/// | GET | /energy?target=&from=&to=&step= | viewer | energy used, at full power, saved, per hour, day or month |
/// | GET | /stats | viewer | live counters |
/// | POST | /keys/rekey | admin | rotate the keys of `lamp:ID`, `group:NAME` or `all` (SPEC.md §8.12) |
/// | POST | /keys/master/rotate | admin | a new fleet master key; every lamp is rekeyed onto it as it links |
/// | POST | /keys/master/retire | admin | drop older master keys once no lamp uses them |
/// | GET | /keys | admin | lamps by key generation, rotations pending, lamps that cannot rotate |
/// | GET | /audit?actor=&action=&before=&limit= | operator | the audit log, newest first |
/// | GET | /incidents?state=&kind=&lamp=&cabinet=&limit= | viewer | incidents, newest first |
/// | GET | /incidents/{id} | viewer | one incident |
/// | POST | /incidents/{id}/acknowledge, /resolve | operator | acknowledge or resolve it (audited) |
/// | GET, POST | /tokens | admin | list, create tokens |
/// | DELETE | /tokens/{name} | admin | revoke a token |
/// | GET | /programs, /programs/{name} | viewer | lighting programs |
/// | PUT, DELETE | /programs/{name} | operator | create or change (file text), delete an unused one |
/// | POST | /programs/{name}/assign | operator | run it on `lamp:ID`, `group:NAME` or `all` |
/// | GET | /programs/{name}/preview?date=&latitude=&longitude= | viewer | a night of a program at a place |
/// | GET | /programs/{name}/forecast?year=&latitude=&longitude=&wattage=&timezone= | viewer | a year of a program: hours lit and kWh per month |
/// | GET | /whoami | viewer | the caller's token name and role |
/// | GET | /stream | viewer | the live event stream (WebSocket) |
///
/// and, without a token, `GET /healthz`, `GET /openapi.json`, `GET /metrics` (Prometheus, when
/// the daemon exports metrics) and the web dashboard's files, `GET /` and
/// `GET /dashboard/{file}`. Errors are `{"error": "...", "field": "..."}` with 400 (invalid
/// input), 401 (no or bad token), 403 (role too small), 404 (unknown lamp, group, command,
/// token or route), 409 (already exists), 413 (body too large), 422 (an `Idempotency-Key`
/// used for another request). With
/// ``OperatorHTTPSettings/corsOrigin`` set, every answer carries CORS headers for that origin.
public enum OperatorHTTPServer {
    /// The largest request body accepted: 8 MiB holds a registration of 20,000 lamps.
    public static let maximumBodySize = 8 << 20
    /// The largest page of lamps.
    public static let maximumPageSize = 10_000
    /// The largest message a stream client may send.
    public static let maximumStreamRequestSize = 16 << 10
    /// The most channels one stream connection may hold.
    public static let maximumStreamChannels = 1_000
    /// The most stream connections at once; more get 503.
    public static let maximumStreamSubscribers = 256

    typealias Context = OperatorRequestContext

    /// `Idempotency-Key` (request) and `Idempotent-Replayed` (answer) of `POST /commands`.
    // The names are valid header field names (tokens), so the initializer cannot fail.
    static let idempotencyKeyField = HTTPField.Name(IdempotencyKey.headerName)!
    static let idempotentReplayedField = HTTPField.Name(IdempotencyKey.replayedHeaderName)!

    /// The router with every route.
    public static func router(
        service: FleetService, metrics: (@Sendable () -> String)? = nil, settings: OperatorHTTPSettings = OperatorHTTPSettings()
    ) -> Router<OperatorRequestContext> {
        let router = Router(context: OperatorRequestContext.self)
        commonMiddleware(router, settings)
        dashboardRoutes(router, settings)
        router.get("/healthz") { _, _ in
            try json(["status": "ok", "version": LamplighterVersion.current])
        }
        router.get("/openapi.json") { _, _ in
            // 500 with the reason if the document's resource bundle is missing.
            OpenAPIDocument.response()
        }
        if let metrics {
            // Prometheus text exposition format 0.0.4.
            router.get("/metrics") { _, _ in
                var buffer = ByteBuffer()
                buffer.writeString(metrics())
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: ResponseBody(byteBuffer: buffer))
            }
        }
        let api = router.group("api/v1").add(middleware: TokenAuthenticator(tokens: service.tokenCache, logger: service.logger))
        lampRoutes(api, service)
        groupRoutes(api, service)
        commandRoutes(api, service)
        accessRoutes(api, service)
        whoAmIRoute(api, service, settings)
        programRoutes(api, service)
        incidentRoutes(api, service)
        webhookRoutes(api, service)
        previewRoute(api, service)
        energyRoute(api, service)
        forecastRoute(api, service)
        streamRoute(api, service)
        return router
    }

    /// Registers a route that needs `role`: 403 (audited) for a smaller one.
    static func route(
        _ group: RouterGroup<Context>, _ method: HTTPRequest.Method, _ path: RouterPath, _ role: Role, _ service: FleetService,
        _ handler: @escaping @Sendable (Request, Context, Caller) async throws -> Response
    ) {
        group.on(path, method: method) { (request: Request, context: Context) async throws -> Response in
            try await respondAsync {
                let caller: Caller
                do throws(APIFailure) {
                    caller = try context.require(role)
                } catch {
                    if error.status == 403, let who = context.caller {
                        await service.denied(who, method: method.rawValue, path: request.uri.path)
                    }
                    throw error
                }
                return try await handler(request, context, caller)
            }
        }
    }

    static func lampRoutes(_ api: RouterGroup<Context>, _ service: FleetService) {
        route(api, .get, "lamps", .viewer, service) { request, _, _ in
            let query = request.uri.queryParameters
            let offset = try integer(query.get("offset"), name: "offset", default: 0, range: 0...Int.max)
            let limit = try integer(query.get("limit"), name: "limit", default: 100, range: 1...maximumPageSize)
            let online = try boolean(query.get("online"), name: "online")
            let fault = try boolean(query.get("fault"), name: "fault")
            let mode = query.get("mode")
            if let mode, !["program", "level", "on", "off", "override"].contains(mode) {
                throw APIFailure.badRequest("must be program, level, on, off or override", field: "mode")
            }
            return try json(
                service.lampPage(group: query.get("group"), mode: mode, online: online, fault: fault, offset: offset, limit: limit))
        }
        route(api, .post, "lamps", .admin, service) { request, _, caller in
            let body = try await request.body.collect(upTo: maximumBodySize)
            let registrations: [LampRegistration]
            if body.readableBytesView.first(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") }) == UInt8(ascii: "[") {
                registrations = try decode([LampRegistration].self, body)
            } else {
                registrations = [try decode(LampRegistration.self, body)]
            }
            return try json(try await service.register(registrations, by: caller), status: .created)
        }
        route(api, .get, "lamps/:id", .viewer, service) { _, context, _ in
            let text = context.parameters.get("id") ?? ""
            guard let id = LampID(text), let view = await service.lampView(id, recentEvents: 20) else {
                throw APIFailure(status: 404, APIError(error: "no lamp \(text) is registered", field: "id"))
            }
            return try json(view)
        }
        route(api, .patch, "lamps/:id", .admin, service) { request, context, caller in
            let body = try await request.body.collect(upTo: maximumBodySize)
            return try json(try await service.updateLamp(context.parameters.get("id") ?? "", try decode(LampUpdate.self, body), by: caller))
        }
        route(api, .delete, "lamps/:id", .admin, service) { _, context, caller in
            try await service.removeLamp(context.parameters.get("id") ?? "", by: caller)
            return Response(status: .noContent)
        }
        route(api, .post, "lamps/:id/revoke", .admin, service) { _, context, caller in
            try json(try await service.setRevoked(context.parameters.get("id") ?? "", true, by: caller))
        }
        route(api, .post, "lamps/:id/restore", .admin, service) { _, context, caller in
            try json(try await service.setRevoked(context.parameters.get("id") ?? "", false, by: caller))
        }
        route(api, .post, "keys/rekey", .admin, service) { request, _, caller in
            let body = try await request.body.collect(upTo: maximumBodySize)
            return try json(try await service.rekey(try decode(RekeyRequest.self, body), by: caller))
        }
        route(api, .post, "keys/master/rotate", .admin, service) { _, _, caller in
            try json(try await service.rotateMasterKey(by: caller))
        }
        route(api, .post, "keys/master/retire", .admin, service) { _, _, caller in
            try json(try await service.retireMasterKeys(by: caller))
        }
        route(api, .get, "keys", .admin, service) { _, _, _ in
            try json(service.keys())
        }
        route(api, .get, "events", .viewer, service) { request, _, _ in
            let query = request.uri.queryParameters
            let (limit, before) = try historyPage(query)
            var lamp: LampID?
            if let text = query.get("lamp") {
                guard let id = LampID(text) else { throw APIFailure.badRequest("is not a lamp id", field: "lamp") }
                lamp = id
            }
            return try json(try await service.events(lamp: lamp, kind: query.get("kind"), before: before, limit: limit))
        }
        route(api, .get, "stats", .viewer, service) { _, _, _ in
            try json(service.stats())
        }
    }

    static func groupRoutes(_ api: RouterGroup<Context>, _ service: FleetService) {
        route(api, .get, "groups", .viewer, service) { _, _, _ in
            try json(try await service.groups())
        }
        route(api, .post, "groups", .operator, service) { request, _, caller in
            let body = try await request.body.collect(upTo: maximumBodySize)
            return try json(try await service.createGroup(try decode(GroupCreate.self, body), by: caller), status: .created)
        }
        route(api, .get, "groups/:name", .viewer, service) { _, context, _ in
            try json(try await service.group(context.parameters.get("name") ?? ""))
        }
        route(api, .delete, "groups/:name", .operator, service) { _, context, caller in
            try await service.deleteGroup(context.parameters.get("name") ?? "", by: caller)
            return Response(status: .noContent)
        }
        route(api, .post, "groups/:name/members", .operator, service) { request, context, caller in
            let body = try await request.body.collect(upTo: maximumBodySize)
            let change = try decode(GroupMembersChange.self, body)
            return try json(try await service.changeMembers(of: context.parameters.get("name") ?? "", change, by: caller))
        }
    }

    static func commandRoutes(_ api: RouterGroup<Context>, _ service: FleetService) {
        route(api, .post, "commands", .operator, service) { request, _, caller in
            let body = try await request.body.collect(upTo: maximumBodySize)
            let command = try decode(CommandRequest.self, body)
            let key = request.headers[idempotencyKeyField]
            if let key, !IdempotencyKey.isValid(key) {
                throw APIFailure.badRequest(IdempotencyKey.rule, field: IdempotencyKey.headerName)
            }
            let (accepted, replayed) = try await service.command(command, idempotencyKey: key, by: caller)
            var response = try json(accepted, status: .accepted)
            if replayed { response.headers[idempotentReplayedField] = "true" }
            return response
        }
        route(api, .get, "commands/:id", .viewer, service) { _, context, _ in
            let text = context.parameters.get("id") ?? ""
            guard let id = Int64(text), let progress = try await service.progress(id) else {
                throw APIFailure(status: 404, APIError(error: "no command \(text)", field: "id"))
            }
            return try json(progress)
        }
    }

    static func programRoutes(_ api: RouterGroup<Context>, _ service: FleetService) {
        route(api, .get, "programs", .viewer, service) { _, _, _ in
            try json(try await service.programs())
        }
        route(api, .get, "programs/:name", .viewer, service) { _, context, _ in
            try json(try await service.program(context.parameters.get("name") ?? ""))
        }
        route(api, .put, "programs/:name", .operator, service) { request, context, caller in
            let body = try await request.body.collect(upTo: maximumBodySize)
            let (view, isNew) = try await service.saveProgram(context.parameters.get("name") ?? "", try decode(ProgramSave.self, body), by: caller)
            return try json(view, status: isNew ? .created : .ok)
        }
        route(api, .delete, "programs/:name", .operator, service) { _, context, caller in
            try await service.deleteProgram(context.parameters.get("name") ?? "", by: caller)
            return Response(status: .noContent)
        }
        route(api, .post, "programs/:name/assign", .operator, service) { request, context, caller in
            let body = try await request.body.collect(upTo: maximumBodySize)
            let assigned = try await service.assignProgram(context.parameters.get("name") ?? "", try decode(ProgramAssign.self, body), by: caller)
            return try json(assigned, status: .accepted)
        }
    }

    static func accessRoutes(_ api: RouterGroup<Context>, _ service: FleetService) {
        route(api, .get, "audit", .operator, service) { request, _, _ in
            let query = request.uri.queryParameters
            let (limit, before) = try historyPage(query)
            return try json(try await service.auditLog(actor: query.get("actor"), action: query.get("action"), before: before, limit: limit))
        }
        route(api, .get, "tokens", .admin, service) { _, _, _ in
            try json(try await service.tokens())
        }
        route(api, .post, "tokens", .admin, service) { request, _, caller in
            let body = try await request.body.collect(upTo: maximumBodySize)
            return try json(try await service.createToken(try decode(TokenCreate.self, body), by: caller), status: .created)
        }
        route(api, .delete, "tokens/:name", .admin, service) { _, context, caller in
            try await service.revokeToken(context.parameters.get("name") ?? "", by: caller)
            return Response(status: .noContent)
        }
    }

    /// `limit` (1 to 10,000, default 100) and `before` (an id) of a newest-first history.
    static func historyPage(_ query: FlatDictionary<Substring, Substring>) throws(APIFailure) -> (limit: Int, before: Int64?) {
        let limit = try integer(query.get("limit"), name: "limit", default: 100, range: 1...10_000)
        let before = try query.get("before").map { text throws(APIFailure) in
            Int64(try integer(text, name: "before", default: 0, range: 1...Int.max))
        }
        return (limit, before)
    }

    static func boolean(_ text: String?, name: String) throws(APIFailure) -> Bool? {
        guard let text else { return nil }
        guard let value = Bool(text) else { throw APIFailure.badRequest("must be true or false", field: name) }
        return value
    }

    static func integer(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws(APIFailure) -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw .badRequest("must be a whole number from \(range.lowerBound) to \(range.upperBound)", field: name)
        }
        return number
    }

    /// Decodes a JSON body, turning decoding errors into 400s that name the field; a field
    /// the request type does not have is refused too (issue 12: they were ignored silently,
    /// so a misspelt optional field did nothing without a word).
    static func decode<T: Codable>(_ type: T.Type, _ body: ByteBuffer) throws(APIFailure) -> T {
        let value: T
        do {
            value = try APICoding.decoder().decode(T.self, from: Data(body.readableBytesView))
        } catch let error as DecodingError {
            switch error {
            case .keyNotFound(let key, let context):
                throw .badRequest("is required", field: path(context.codingPath + [key]))
            case .typeMismatch(let expected, let context):
                throw .badRequest("must be a \(expected)", field: path(context.codingPath))
            case .valueNotFound(_, let context):
                throw .badRequest("must not be null", field: path(context.codingPath))
            case .dataCorrupted(let context):
                throw APIFailure(status: 400, APIError(error: "the body is not valid JSON: \(context.debugDescription)"))
            @unknown default:
                throw APIFailure(status: 400, APIError(error: "the body could not be read: \(error)"))
            }
        } catch {
            throw APIFailure(status: 400, APIError(error: "the body could not be read: \(error)"))
        }
        if let unknown = unknownField(value, body) {
            throw .badRequest("is not a field of this request", field: unknown)
        }
        return value
    }

    /// The first field of the body (an object, or each object of an array) that `value`'s
    /// type does not have, by its path; nil if there is none. A field the type has comes back
    /// when the decoded value is encoded again, unless it is null (then it is left alone: a
    /// null reads as absent either way).
    static func unknownField(_ value: some Encodable, _ body: ByteBuffer) -> String? {
        guard let sent = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)),
            let encoded = try? APICoding.encoder().encode(value),
            let known = try? JSONSerialization.jsonObject(with: encoded)
        else { return nil }
        func unknown(_ sent: Any, _ known: Any, _ prefix: String) -> String? {
            if let sent = sent as? [String: Any] {
                let known = known as? [String: Any] ?? [:]
                for key in sent.keys.sorted() where !(sent[key] is NSNull) {
                    let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                    guard let inner = known[key] else { return path }
                    if let found = unknown(sent[key]!, inner, path) { return found }
                }
            } else if let sent = sent as? [Any], let known = known as? [Any], sent.count == known.count {
                for (index, element) in sent.enumerated() {
                    if let found = unknown(element, known[index], "\(prefix)[\(index)]") { return found }
                }
            }
            return nil
        }
        return unknown(sent, known, "")
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try APICoding.encoder().encode(value)
        var buffer = ByteBuffer()
        buffer.writeBytes(data)
        buffer.writeString("\n")
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: buffer))
    }

    static func failure(_ failure: APIFailure) -> Response {
        // An APIError always encodes.
        (try? json(failure.body, status: HTTPResponse.Status(code: failure.status))) ?? Response(status: .internalServerError)
    }

    static func respondAsync(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let failure as APIFailure {
            return OperatorHTTPServer.failure(failure)
        } catch let error as FleetError {
            return OperatorHTTPServer.failure(APIFailure(error))
        } catch let error as HTTPError where error.status == .contentTooLarge {
            return OperatorHTTPServer.failure(
                APIFailure(status: 413, APIError(error: "the body is larger than \(maximumBodySize) bytes")))
        }
    }
}

/// Gives the errors Hummingbird raises itself (no such route, wrong method, a body it could
/// not read) the API's JSON error body instead of an empty one.
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = OperatorRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let status = Int(error.status.code)
            let message: String
            switch status {
            case 404:
                message = "no route \(request.method.rawValue) \(request.uri.path): the API is under /api/v1 (GET /openapi.json lists every route)"
            case 405:
                message = "\(request.method.rawValue) is not allowed on \(request.uri.path) (GET /openapi.json lists every route)"
            default:
                message = error.body ?? error.status.reasonPhrase
            }
            return OperatorHTTPServer.failure(APIFailure(status: status, APIError(error: message)))
        } catch let failure as APIFailure {
            return OperatorHTTPServer.failure(failure)
        } catch {
            // Anything else is ours, not the caller's: its text (SQL, paths, types) goes to the
            // log under a reference, never into the answer.
            let reference = ErrorReference.make()
            context.logger.error("request failed", metadata: ["error": "\(error)", "error.reference": "\(reference)"])
            return OperatorHTTPServer.failure(APIFailure(status: 500, APIError(error: ErrorReference.message(reference))))
        }
    }
}

/// A short random reference that ties an internal error's answer to its line in the log.
enum ErrorReference {
    static func make() -> String {
        String(UInt32.random(in: .min ... .max), radix: 16)
    }

    /// The whole body of an internal error's answer.
    static func message(_ reference: String) -> String {
        "internal error, see the daemon's log for \(reference)"
    }
}

/// A refused API request: the HTTP status and the body that says why.
public struct APIFailure: Error, Sendable {
    /// HTTP status code.
    public let status: Int
    /// The body.
    public let body: APIError

    /// A failure.
    public init(status: Int, _ body: APIError) {
        self.status = status
        self.body = body
    }

    /// 400 with a message about one field.
    public static func badRequest(_ message: String, field: String) -> APIFailure {
        APIFailure(status: 400, APIError(error: "\(field) \(message)", field: field))
    }

    /// The one place where the domain's refusals become HTTP status codes.
    public init(_ error: FleetError) {
        let status =
            switch error.kind {
            case .invalid: 400
            case .notFound: 404
            case .conflict: 409
            case .unprocessable: 422
            case .storage: 500
            case .unavailable: 503
            }
        self.init(status: status, APIError(error: error.message, field: error.field))
    }
}
