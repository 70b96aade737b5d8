import Foundation
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

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .unreachable(let server, let reason): "cannot reach lamplighterd at \(server): \(reason)"
        case .refused(let status, let error): "\(error.error) (HTTP \(status))"
        case .badResponse(let what): "unexpected answer from lamplighterd: \(what)"
        }
    }
}

/// A typed client of the operator API (the types are the daemon's own, from OperatorAPI):
/// no hand-built JSON anywhere.
public struct OperatorClient: Sendable {
    /// The API's base, e.g. `http://127.0.0.1:7380`.
    public let server: URL
    private let session: URLSession

    /// A client of the daemon at `server`.
    public init(server: URL, timeoutSeconds: Double = 10) {
        self.server = server
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeoutSeconds
        self.session = URLSession(configuration: configuration)
    }

    /// A page of lamps.
    public func lamps(group: String? = nil, online: Bool? = nil, offset: Int = 0, limit: Int = 100) async throws -> LampPage {
        var query = [URLQueryItem(name: "offset", value: "\(offset)"), URLQueryItem(name: "limit", value: "\(limit)")]
        if let group { query.append(URLQueryItem(name: "group", value: group)) }
        if let online { query.append(URLQueryItem(name: "online", value: "\(online)")) }
        return try await get("/api/v1/lamps", query: query)
    }

    /// One lamp.
    public func lamp(_ id: String) async throws -> LampView {
        try await get("/api/v1/lamps/\(id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id)")
    }

    /// Sends a command; returns once the daemon has made it durable.
    public func command(_ request: CommandRequest) async throws -> CommandAccepted {
        try await send("POST", "/api/v1/commands", body: try APICoding.encoder().encode(request))
    }

    /// A command's progress.
    public func progress(_ id: Int64) async throws -> CommandProgress {
        try await get("/api/v1/commands/\(id)")
    }

    /// The event history, newest first.
    public func events(lamp: String? = nil, limit: Int = 100) async throws -> [EventView] {
        var query = [URLQueryItem(name: "limit", value: "\(limit)")]
        if let lamp { query.append(URLQueryItem(name: "lamp", value: lamp)) }
        return try await get("/api/v1/events", query: query)
    }

    /// The daemon's live counters.
    public func stats() async throws -> StatsView {
        try await get("/api/v1/stats")
    }

    private func get<T: Decodable>(_ path: String, query: [URLQueryItem] = []) async throws -> T {
        try await send("GET", path, query: query, body: nil)
    }

    private func send<T: Decodable>(_ method: String, _ path: String, query: [URLQueryItem] = [], body: Data?) async throws -> T {
        guard var components = URLComponents(url: server, resolvingAgainstBaseURL: false) else {
            throw OperatorClientError.unreachable(server: server.absoluteString, reason: "not a URL")
        }
        components.path = path
        components.queryItems = query.isEmpty ? nil : query
        guard let url = components.url else { throw OperatorClientError.badResponse("cannot build a URL for \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch {
            throw OperatorClientError.unreachable(server: server.absoluteString, reason: error.localizedDescription)
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            let apiError = (try? APICoding.decoder().decode(APIError.self, from: data)) ?? APIError(error: "HTTP \(status)")
            throw OperatorClientError.refused(status: status, apiError)
        }
        do {
            return try APICoding.decoder().decode(T.self, from: data)
        } catch {
            throw OperatorClientError.badResponse("\(error)")
        }
    }
}
