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
public struct OperatorRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by ``TokenAuthenticator``.
    public var caller: Caller?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
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
/// unknown one. Roles are checked per route. Tokens come from the ``TokenCache`` in memory.
struct TokenAuthenticator: RouterMiddleware {
    typealias Context = OperatorRequestContext
    let tokens: TokenCache
    let logger: Logger
    /// The one route that may carry its token as `?token=`.
    static let streamPath = "/api/v1/stream"

    /// The caller a bearer token (the `Authorization` header's value) or a query token names,
    /// or the 401 (or 500) to answer; one rule for every route and the stream's upgrade.
    static func caller(
        authorization: String?, queryToken: String?, tokens: TokenCache, logger: Logger
    ) async -> Result<Caller, APIFailure> {
        var token: String?
        if let authorization {
            guard authorization.hasPrefix("Bearer ") else {
                return .failure(APIFailure(status: 401, APIError(error: "Authorization must be Bearer TOKEN")))
            }
            token = String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else {
            token = queryToken
        }
        guard let token else {
            return .failure(APIFailure(status: 401, APIError(error: "a token is required: send Authorization: Bearer TOKEN")))
        }
        let record: TokenRecord?
        do {
            record = APIToken.isWellFormed(token) ? try await tokens.record(hash: APIToken.hash(token)) : nil
        } catch {
            logger.error("reading tokens failed", metadata: ["error": "\(error)"])
            return .failure(APIFailure(status: 500, APIError(error: "reading tokens failed")))
        }
        guard let record, let role = Role(rawValue: record.role) else {
            return .failure(APIFailure(status: 401, APIError(error: "the token is not valid (unknown or revoked)")))
        }
        return .success(Caller(name: record.name, role: role))
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let authorization = request.headers[.authorization]
        let queryToken = request.uri.path == Self.streamPath && authorization == nil ? request.uri.queryParameters.get("token") : nil
        let caller: Caller
        switch await Self.caller(authorization: authorization, queryToken: queryToken, tokens: tokens, logger: logger) {
        case .success(let found): caller = found
        case .failure(let failure): return OperatorHTTPServer.failure(failure)
        }
        var context = context
        context.caller = caller
        context.logger[metadataKey: "api.caller"] = "\(caller.name)"
        return try await next(request, context)
    }
}
