import FleetCore
import Foundation
import Hummingbird
import LampProtocol
import Logging
import NIOCore
import OperatorAPI

/// The operator HTTP API (JSON) on Hummingbird 2. Routes, all under `/api/v1`:
///
/// | method | path | does |
/// |---|---|---|
/// | GET | /lamps?group=&online=&offset=&limit= | a page of lamps |
/// | POST | /lamps | register one lamp or an array of lamps |
/// | GET | /lamps/{id} | one lamp, desired versus reported |
/// | POST | /commands | a command to `lamp:ID`, `group:NAME` or `all` |
/// | GET | /commands/{id} | its progress: applied, failed, pending |
/// | GET | /events?lamp=&limit= | the event history, newest first |
/// | GET | /stats | live counters: links, handshakes, messages |
///
/// and `GET /healthz`, and `GET /metrics` (Prometheus) when the daemon exports metrics. Errors are `{"error": "...", "field": "..."}` with 400 (invalid input),
/// 404 (unknown lamp, group or command), 409 (already registered).
public enum OperatorHTTPServer {
    /// The largest request body accepted: 8 MiB holds a registration of 20,000 lamps.
    public static let maximumBodySize = 8 << 20
    /// The largest page of lamps.
    public static let maximumPageSize = 10_000

    /// The router with every route.
    public static func router(service: FleetService, metrics: (@Sendable () -> String)? = nil) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ in
            try json(["status": "ok"])
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
        let api = router.group("api/v1")
        api.get("lamps") { request, _ in
            try respond {
                let query = request.uri.queryParameters
                let offset = try integer(query.get("offset"), name: "offset", default: 0, range: 0...Int.max)
                let limit = try integer(query.get("limit"), name: "limit", default: 100, range: 1...maximumPageSize)
                var online: Bool?
                if let text = query.get("online") {
                    guard let value = Bool(text) else { throw APIFailure.badRequest("must be true or false", field: "online") }
                    online = value
                }
                return try json(service.lampPage(group: query.get("group"), online: online, offset: offset, limit: limit))
            }
        }
        api.post("lamps") { request, _ in
            try await respondAsync {
                let body = try await request.body.collect(upTo: maximumBodySize)
                let registrations: [LampRegistration]
                if body.readableBytesView.first(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") }) == UInt8(ascii: "[") {
                    registrations = try decode([LampRegistration].self, body)
                } else {
                    registrations = [try decode(LampRegistration.self, body)]
                }
                return try json(try service.register(registrations), status: .created)
            }
        }
        api.get("lamps/:id") { _, context in
            try respond {
                let text = context.parameters.get("id") ?? ""
                guard let id = LampID(text), let view = service.lampView(id) else {
                    throw APIFailure(status: 404, APIError(error: "no lamp \(text) is registered", field: "id"))
                }
                return try json(view)
            }
        }
        api.post("commands") { request, _ in
            try await respondAsync {
                let body = try await request.body.collect(upTo: maximumBodySize)
                let command = try decode(CommandRequest.self, body)
                return try json(try await service.command(command), status: .accepted)
            }
        }
        api.get("commands/:id") { _, context in
            try respond {
                let text = context.parameters.get("id") ?? ""
                guard let id = Int64(text), let progress = try service.progress(id) else {
                    throw APIFailure(status: 404, APIError(error: "no command \(text)", field: "id"))
                }
                return try json(progress)
            }
        }
        api.get("events") { request, _ in
            try respond {
                let query = request.uri.queryParameters
                let limit = try integer(query.get("limit"), name: "limit", default: 100, range: 1...10_000)
                var lamp: LampID?
                if let text = query.get("lamp") {
                    guard let id = LampID(text) else { throw APIFailure.badRequest("is not a lamp id", field: "lamp") }
                    lamp = id
                }
                return try json(try service.events(lamp: lamp, limit: limit))
            }
        }
        api.get("stats") { _, _ in
            try json(service.stats())
        }
        return router
    }

    static func integer(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws(APIFailure) -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw .badRequest("must be a whole number from \(range.lowerBound) to \(range.upperBound)", field: name)
        }
        return number
    }

    /// Decodes a JSON body, turning decoding errors into 400s that name the field.
    static func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer) throws(APIFailure) -> T {
        do {
            return try APICoding.decoder().decode(T.self, from: Data(body.readableBytesView))
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

    static func respond(_ body: () throws -> Response) throws -> Response {
        do {
            return try body()
        } catch let failure as APIFailure {
            return OperatorHTTPServer.failure(failure)
        }
    }

    static func respondAsync(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let failure as APIFailure {
            return OperatorHTTPServer.failure(failure)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            return OperatorHTTPServer.failure(
                APIFailure(status: 413, APIError(error: "the body is larger than \(maximumBodySize) bytes")))
        }
    }
}
