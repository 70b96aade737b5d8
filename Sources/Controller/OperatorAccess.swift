import FleetCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import LampAuth
import Logging
import NIOCore
import OperatorAPI

/// Who is calling: the token's name and role.
public struct Caller: Sendable, Hashable {
    /// The token's name (or `command line` for lamplighterd's own subcommands).
    public var name: String
    /// What it may do.
    public var role: Role

    /// A caller.
    public init(name: String, role: Role) {
        self.name = name
        self.role = role
    }
}

/// The operator API's request context: Hummingbird's, plus the caller once authenticated and
/// the connection's channel (so the event stream can cut off a subscriber that stopped
/// reading).
public struct OperatorRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    /// Set by ``TokenAuthenticator``.
    public var caller: Caller?
    /// The HTTP connection.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }

    /// The caller, if their role is at least `role`; otherwise throws the 401 or 403.
    func require(_ role: Role) throws(APIFailure) -> Caller {
        guard let caller else {
            throw APIFailure(status: 401, APIError(error: "a token is required: send Authorization: Bearer TOKEN"))
        }
        guard caller.role >= role else {
            throw APIFailure(
                status: 403, APIError(error: "token \(caller.name) has role \(caller.role.rawValue); this needs \(role.rawValue)"))
        }
        return caller
    }
}

/// Authenticates every request under `/api/v1` by its bearer token (or, for the event stream,
/// whose browser API cannot set headers, a `token` query parameter): 401 for none or an
/// unknown one. Roles are checked per route.
struct TokenAuthenticator: RouterMiddleware {
    typealias Context = OperatorRequestContext
    let store: any FleetStoring
    let logger: Logger
    /// The one route that may carry its token as `?token=`.
    static let streamPath = "/api/v1/stream"

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        // A refused WebSocket upgrade can only be a bare 400 (the upgrade handler's rule), which
        // tells a client nothing; the stream instead accepts the upgrade and closes at once
        // with 4401 and the reason, which browsers show.
        // Only the stream takes a token in the query (a URL is logged and kept in histories: no
        // other route may accept one).
        let isStreamPath = request.uri.path == Self.streamPath
        let isStreamUpgrade = isStreamPath && request.headers[.upgrade]?.lowercased() == "websocket"
        var token: String?
        if let header = request.headers[.authorization] {
            guard header.hasPrefix("Bearer ") else {
                return OperatorHTTPServer.failure(APIFailure(status: 401, APIError(error: "Authorization must be Bearer TOKEN")))
            }
            token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else if isStreamPath {
            token = request.uri.queryParameters.get("token")
        }
        guard let token else {
            if isStreamUpgrade { return try await next(request, context) }
            return OperatorHTTPServer.failure(
                APIFailure(status: 401, APIError(error: "a token is required: send Authorization: Bearer TOKEN")))
        }
        let record: TokenRecord?
        do {
            record = APIToken.isWellFormed(token) ? try await store.token(hash: APIToken.hash(token)) : nil
        } catch {
            logger.error("reading tokens failed", metadata: ["error": "\(error)"])
            return OperatorHTTPServer.failure(APIFailure(status: 500, APIError(error: "reading tokens failed")))
        }
        guard let record, let role = Role(rawValue: record.role) else {
            if isStreamUpgrade { return try await next(request, context) }
            return OperatorHTTPServer.failure(APIFailure(status: 401, APIError(error: "the token is not valid (unknown or revoked)")))
        }
        var context = context
        context.caller = Caller(name: record.name, role: role)
        context.logger[metadataKey: "api.caller"] = "\(record.name)"
        return try await next(request, context)
    }
}
