import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import OperatorAPI

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Why a call to the operator API failed.
public enum OperatorClientError: Error, Sendable, CustomStringConvertible {
    /// The daemon could not be reached.
    case unreachable(server: String, reason: String)
    /// The daemon answered with an error status and body.
    case refused(status: Int, APIError)
    /// The daemon answered something that is not the expected JSON.
    case badResponse(String)
    /// No token was given and the daemon wants one.
    case noToken(server: String)
    /// Something answered that is not lamplighterd's operator API (no API error in the body).
    case notTheAPI(server: String, status: Int)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .unreachable(let server, let reason): "cannot reach lamplighterd at \(server): \(reason)"
        case .refused(let status, let error): "\(error.error) (HTTP \(status))"
        case .badResponse(let what): "unexpected answer from lamplighterd: \(what)"
        case .noToken(let server):
            "\(server) needs an API token: pass --token, set LAMPLIGHTER_TOKEN (on the daemon's host: export LAMPLIGHTER_TOKEN=$(cat lamplighter.admin-token)) or put 'token = ...' in ~/.config/lampctl/config"
        case .notTheAPI(let server, let status):
            "\(server) answered \(status == 0 ? "without a WebSocket upgrade" : "HTTP \(status) without an API error"): it is not lamplighterd's operator API (that is port 7380 by default; the lamp port, 7350, speaks only the lamp protocol)"
        }
    }
}

/// A typed client of the operator API (the types are the daemon's own, from OperatorAPI):
/// no hand-built JSON anywhere.
public struct OperatorClient: Sendable {
    /// The API's base, e.g. `http://127.0.0.1:7380`.
    public let server: URL
    /// The bearer token sent with every request.
    public let token: String?
    private let session: URLSession
    /// The CA (PEM) that signed an https:// server's certificate, instead of the system's.
    public let caFile: String?
    private let timeoutSeconds: Double

    /// A client of the daemon at `server`, calling with `token`.
    public init(server: URL, token: String?, timeoutSeconds: Double = 10, caFile: String? = nil) {
        self.server = server
        self.token = token
        self.caFile = caFile
        self.timeoutSeconds = timeoutSeconds
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeoutSeconds
        self.session = URLSession(configuration: configuration)
    }

    /// A page of lamps.
    public func lamps(
        group: String? = nil, mode: String? = nil, online: Bool? = nil, fault: Bool? = nil, offset: Int = 0, limit: Int = 100
    ) async throws -> LampPage {
        let query = OperatorClient.query([
            ("offset", "\(offset)"), ("limit", "\(limit)"), ("group", group), ("mode", mode), ("online", online.map { "\($0)" }),
            ("fault", fault.map { "\($0)" }),
        ])
        return try await get("/api/v1/lamps", query: query)
    }

    /// Every group.
    public func groups() async throws -> [GroupView] {
        try await get("/api/v1/groups")
    }

    /// One group.
    public func group(_ name: String) async throws -> GroupView {
        try await get("/api/v1/groups/\(OperatorClient.escaped(name))")
    }

    /// Creates an empty group.
    public func createGroup(_ request: GroupCreate) async throws -> GroupView {
        try await send("POST", "/api/v1/groups", body: try APICoding.encoder().encode(request))
    }

    /// Deletes a group (its lamps stay).
    public func deleteGroup(_ name: String) async throws {
        let _: Empty = try await send("DELETE", "/api/v1/groups/\(OperatorClient.escaped(name))", body: nil)
    }

    /// Adds and removes members.
    public func changeMembers(of name: String, _ change: GroupMembersChange) async throws -> GroupView {
        try await send("POST", "/api/v1/groups/\(OperatorClient.escaped(name))/members", body: try APICoding.encoder().encode(change))
    }

    /// The audit log, newest first.
    public func audit(actor: String? = nil, action: String? = nil, limit: Int = 100) async throws -> [AuditView] {
        try await get("/api/v1/audit", query: OperatorClient.query([("limit", "\(limit)"), ("actor", actor), ("action", action)]))
    }

    /// Incidents newest first, filtered (nil: any).
    public func incidents(
        state: String? = nil, kind: String? = nil, lamp: String? = nil, cabinet: String? = nil, limit: Int = 100
    ) async throws -> [IncidentView] {
        try await get(
            "/api/v1/incidents",
            query: OperatorClient.query([("limit", "\(limit)"), ("state", state), ("kind", kind), ("lamp", lamp), ("cabinet", cabinet)]))
    }

    /// One incident.
    public func incident(_ id: String) async throws -> IncidentView {
        try await get("/api/v1/incidents/\(id)")
    }

    /// Acknowledges (`resolve` false) or resolves an incident.
    public func settleIncident(_ id: String, resolve: Bool) async throws -> IncidentView {
        try await send("POST", "/api/v1/incidents/\(id)/\(resolve ? "resolve" : "acknowledge")", body: nil)
    }

    /// Creates a webhook; the answer carries its secret, shown only now.
    public func createWebhook(_ request: WebhookCreate) async throws -> WebhookView {
        try await send("POST", "/api/v1/webhooks", body: try APICoding.encoder().encode(request))
    }

    /// Every webhook.
    public func webhooks() async throws -> [WebhookView] {
        try await get("/api/v1/webhooks")
    }

    /// One webhook.
    public func webhook(_ id: String) async throws -> WebhookView {
        try await get("/api/v1/webhooks/\(OperatorClient.escaped(id))")
    }

    /// Deletes a webhook and its outbox.
    public func deleteWebhook(_ id: String) async throws {
        let _: Empty = try await send("DELETE", "/api/v1/webhooks/\(OperatorClient.escaped(id))", body: nil)
    }

    /// A webhook's deliveries, newest first.
    public func webhookDeliveries(_ id: String, limit: Int = 100) async throws -> [DeliveryView] {
        try await get("/api/v1/webhooks/\(OperatorClient.escaped(id))/deliveries", query: OperatorClient.query([("limit", "\(limit)")]))
    }

    /// Queues a delivery again.
    public func replayDelivery(_ id: String, delivery: String) async throws -> DeliveryView {
        try await send(
            "POST", "/api/v1/webhooks/\(OperatorClient.escaped(id))/deliveries/\(OperatorClient.escaped(delivery))/replay", body: nil)
    }

    /// Every token (never the secrets).
    public func tokens() async throws -> [TokenView] {
        try await get("/api/v1/tokens")
    }

    /// Creates a token; the answer holds its secret.
    public func createToken(_ request: TokenCreate) async throws -> TokenCreated {
        try await send("POST", "/api/v1/tokens", body: try APICoding.encoder().encode(request))
    }

    /// Revokes a token.
    public func revokeToken(_ name: String) async throws {
        let _: Empty = try await send("DELETE", "/api/v1/tokens/\(OperatorClient.escaped(name))", body: nil)
    }

    /// Every lighting program.
    public func programs() async throws -> [ProgramView] {
        try await get("/api/v1/programs")
    }

    /// One program with its file text.
    public func program(_ name: String) async throws -> ProgramView {
        try await get("/api/v1/programs/\(OperatorClient.escaped(name))")
    }

    /// Creates or changes a program from its file text.
    public func saveProgram(_ name: String, source: String) async throws -> ProgramView {
        try await send("PUT", "/api/v1/programs/\(OperatorClient.escaped(name))", body: try APICoding.encoder().encode(ProgramSave(source: source)))
    }

    /// Deletes a program no lamp runs.
    public func deleteProgram(_ name: String) async throws {
        let _: Empty = try await send("DELETE", "/api/v1/programs/\(OperatorClient.escaped(name))", body: nil)
    }

    /// Runs a program on a target's lamps.
    public func assignProgram(_ name: String, target: String) async throws -> ProgramAssigned {
        try await send(
            "POST", "/api/v1/programs/\(OperatorClient.escaped(name))/assign", body: try APICoding.encoder().encode(ProgramAssign(target: target)))
    }

    /// Why a token given was refused, in the command line's terms.
    static let tokenRefused =
        "lamplighterd refused the token: it is unknown or revoked (check --token, LAMPLIGHTER_TOKEN or the config file's token)"

    static func query(_ items: [(String, String?)]) -> [URLQueryItem] {
        items.compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
    }

    static func escaped(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? segment
    }

    /// The answer of a route that answers 204.
    struct Empty: Decodable {}

    /// One lamp.
    public func lamp(_ id: String) async throws -> LampView {
        try await get("/api/v1/lamps/\(OperatorClient.escaped(id))")
    }

    /// Registers lamps, all or none.
    public func register(_ lamps: [LampRegistration]) async throws -> [LampView] {
        try await send("POST", "/api/v1/lamps", body: try APICoding.encoder().encode(lamps))
    }

    /// Changes a lamp's name, place, wattage or cabinet.
    public func updateLamp(_ id: String, _ update: LampUpdate) async throws -> LampView {
        try await send("PATCH", "/api/v1/lamps/\(OperatorClient.escaped(id))", body: try APICoding.encoder().encode(update))
    }

    /// Removes a lamp.
    /// Revokes a lamp (`revoked`: its link is closed and its hellos refused) or restores it (admin).
    public func setRevoked(_ id: String, _ revoked: Bool) async throws -> LampView {
        try await send("POST", "/api/v1/lamps/\(OperatorClient.escaped(id))/\(revoked ? "revoke" : "restore")", body: nil)
    }

    /// Rotates the keys of `target` (`lamp:ID`, `group:NAME`, `all`; admin): SPEC.md §8.12.
    public func rekey(_ target: String) async throws -> RekeyResult {
        try await send("POST", "/api/v1/keys/rekey", body: try APICoding.encoder().encode(RekeyRequest(target: target)))
    }

    /// Rotates the fleet master key (admin): every lamp is rekeyed onto the new one.
    public func rotateMasterKey() async throws -> KeysView {
        try await send("POST", "/api/v1/keys/master/rotate", body: nil)
    }

    /// Drops the older master keys once no lamp uses them (admin).
    public func retireMasterKeys() async throws -> KeysView {
        try await send("POST", "/api/v1/keys/master/retire", body: nil)
    }

    /// Where the fleet's lamp keys stand (admin).
    public func keys() async throws -> KeysView {
        try await send("GET", "/api/v1/keys", body: nil)
    }

    public func removeLamp(_ id: String) async throws {
        let _: Empty = try await send("DELETE", "/api/v1/lamps/\(OperatorClient.escaped(id))", body: nil)
    }

    /// Sends a command; returns once the daemon has made it durable. It goes with an
    /// `Idempotency-Key` (a fresh random one unless given), and when the connection fails
    /// (the request or its answer lost: the daemon may have made the command durable
    /// anyway) it is sent once more with the same key after ``commandRetryDelay``: the
    /// daemon answers a retry with the first command, never a second one.
    public func command(_ request: CommandRequest, idempotencyKey: String = IdempotencyKey.random()) async throws -> CommandAccepted {
        let body = try APICoding.encoder().encode(request)
        let headers = [IdempotencyKey.headerName: idempotencyKey]
        do {
            return try await send("POST", "/api/v1/commands", body: body, headers: headers)
        } catch OperatorClientError.unreachable {
            try await Task.sleep(for: OperatorClient.commandRetryDelay)
            return try await send("POST", "/api/v1/commands", body: body, headers: headers)
        }
    }

    /// The pause before a command is sent again after a connection failure: long enough for
    /// a moment's network trouble to pass, short enough not to keep an operator waiting.
    public static let commandRetryDelay: Duration = .milliseconds(500)

    /// A command's progress.
    public func progress(_ id: Int64) async throws -> CommandProgress {
        try await get("/api/v1/commands/\(id)")
    }

    /// The event history, newest first.
    public func events(lamp: String? = nil, kind: String? = nil, limit: Int = 100) async throws -> [EventView] {
        try await get("/api/v1/events", query: OperatorClient.query([("limit", "\(limit)"), ("lamp", lamp), ("kind", kind)]))
    }

    /// Energy of `target` (`all`, `group:NAME`, a lamp id) per `step` (`hour`, `day`,
    /// `month`); `from` and `to` are ISO 8601 (the daemon's defaults: the last day).
    public func energy(target: String, from: String? = nil, to: String? = nil, step: String? = nil) async throws -> EnergyReport {
        try await get("/api/v1/energy", query: OperatorClient.query([("target", target), ("from", from), ("to", to), ("step", step)]))
    }

    /// A program's year ahead: hours lit and energy per month.
    public func forecast(
        _ name: String, year: Int, latitude: Double?, longitude: Double?, wattage: Double?, timeZone: String? = nil
    ) async throws -> ProgramForecast {
        try await get(
            "/api/v1/programs/\(OperatorClient.escaped(name))/forecast",
            query: OperatorClient.query([
                ("year", "\(year)"), ("latitude", latitude.map { "\($0)" }), ("longitude", longitude.map { "\($0)" }),
                ("wattage", wattage.map { "\($0)" }), ("timezone", timeZone),
            ]))
    }

    /// The daemon's live counters.
    public func stats() async throws -> StatsView {
        try await get("/api/v1/stats")
    }

    /// Sends a request to the API and returns the status and body, for scripts and tests that
    /// need the raw answer; the transport (and its TLS) is lampctl's.
    public func raw(_ method: String, _ path: String, body: Data? = nil) async throws -> (status: Int, body: Data) {
        guard let url = URL(string: path, relativeTo: server) else { throw OperatorClientError.badResponse("cannot build a URL for \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        return try await exchange(request)
    }

    /// The largest answer read, bytes: a page of lamps is far smaller.
    static let maximumResponseSize = 64 << 20

    /// Sends `request`: http:// through URLSession, https:// through AsyncHTTPClient with
    /// NIOSSL, which can trust a given CA file (URLSession on Linux cannot).
    private func exchange(_ request: URLRequest) async throws -> (status: Int, body: Data) {
        guard server.scheme == "https" else {
            do {
                let (data, response) = try await session.data(for: request)
                return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
            } catch {
                throw OperatorClientError.unreachable(server: server.absoluteString, reason: error.localizedDescription)
            }
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let caFile { tls.trustRoots = .certificates(try Self.certificates(caFile, server: server.absoluteString)) }
        var outgoing = HTTPClientRequest(url: request.url?.absoluteString ?? "")
        outgoing.method = HTTPMethod(rawValue: request.httpMethod ?? "GET")
        outgoing.tlsConfiguration = tls
        for (name, value) in request.allHTTPHeaderFields ?? [:] { outgoing.headers.add(name: name, value: value) }
        if let body = request.httpBody { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await HTTPClient.shared.execute(outgoing, timeout: .milliseconds(Int64(timeoutSeconds * 1000)))
            let body = try await response.body.collect(upTo: Self.maximumResponseSize)
            return (Int(response.status.code), Data(body.readableBytesView))
        } catch {
            throw OperatorClientError.unreachable(server: server.absoluteString, reason: Self.describeTLS(error, caFile: caFile))
        }
    }

    /// The CA file's certificates; a missing or non-PEM file is named.
    static func certificates(_ path: String, server: String) throws -> [NIOSSLCertificate] {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw OperatorClientError.unreachable(server: server, reason: "cannot read the CA file \(path) (--ca-file, LAMPCTL_CA_FILE)")
        }
        guard let certificates = try? NIOSSLCertificate.fromPEMFile(path), !certificates.isEmpty else {
            throw OperatorClientError.unreachable(server: server, reason: "the CA file \(path) holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
        return certificates
    }

    /// An https:// failure in words: an untrusted certificate says which CA setting to fix.
    static func describeTLS(_ error: any Error, caFile: String?) -> String {
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate verify failed") {
            return caFile.map { "its TLS certificate is not signed by the CA in \($0)" }
                ?? "its TLS certificate is not signed by a CA this system trusts (--ca-file or LAMPCTL_CA_FILE names the CA that signed it)"
        }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") {
            return "it does not speak TLS (plain HTTP is http://)"
        }
        if let client = error as? HTTPClientError {
            if client == .deadlineExceeded || client == .readTimeout || client == .connectTimeout { return "no answer in time" }
            if client == .remoteConnectionClosed { return "the connection closed (does it speak TLS?)" }
        }
        return EventStreamClient.describe(error)
    }

    private func get<T: Decodable>(_ path: String, query: [URLQueryItem] = []) async throws -> T {
        try await send("GET", path, query: query, body: nil)
    }

    private func send<T: Decodable>(
        _ method: String, _ path: String, query: [URLQueryItem] = [], body: Data?, headers: [String: String] = [:]
    ) async throws -> T {
        guard var components = URLComponents(url: server, resolvingAgainstBaseURL: false) else {
            throw OperatorClientError.unreachable(server: server.absoluteString, reason: "not a URL")
        }
        components.path = path
        components.queryItems = query.isEmpty ? nil : query
        guard let url = components.url else { throw OperatorClientError.badResponse("cannot build a URL for \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let token {
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        }
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in headers {
            request.setValue(value, forHTTPHeaderField: name)
        }
        let (status, data) = try await exchange(request)
        guard (200..<300).contains(status) else {
            guard let apiError = try? APICoding.decoder().decode(APIError.self, from: data) else {
                throw OperatorClientError.notTheAPI(server: server.absoluteString, status: status)
            }
            if status == 401 {
                // The server's words are for HTTP clients (a header to send); a command-line
                // user needs to know which of their settings to fix.
                if token == nil { throw OperatorClientError.noToken(server: server.absoluteString) }
                throw OperatorClientError.refused(status: 401, APIError(error: OperatorClient.tokenRefused))
            }
            throw OperatorClientError.refused(status: status, apiError)
        }
        if status == 204, let empty = Empty() as? T {
            return empty
        }
        do {
            return try APICoding.decoder().decode(T.self, from: data)
        } catch {
            throw OperatorClientError.badResponse("\(error)")
        }
    }
}
