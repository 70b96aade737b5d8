import FleetCore
import Hummingbird
import OperatorAPI

extension OperatorHTTPServer {
    /// `GET /incidents`, `GET /incidents/{id}`, `POST /incidents/{id}/acknowledge|resolve`.
    static func incidentRoutes(_ api: RouterGroup<Context>, _ service: FleetService) {
        route(api, .get, "incidents", .viewer, service) { request, _, _ in
            let query = request.uri.queryParameters
            let limit = try integer(query.get("limit"), name: "limit", default: 100, range: 1...10_000)
            return try json(
                try await service.incidents(
                    state: query.get("state"), kind: query.get("kind"), lamp: query.get("lamp"),
                    cabinet: query.get("cabinet"), limit: limit))
        }
        route(api, .get, "incidents/:id", .viewer, service) { _, context, _ in
            try json(try await service.incident(context.parameters.get("id") ?? ""))
        }
        route(api, .post, "incidents/:id/acknowledge", .operator, service) { _, context, caller in
            try json(try await service.settleIncident(context.parameters.get("id") ?? "", resolve: false, by: caller))
        }
        route(api, .post, "incidents/:id/resolve", .operator, service) { _, context, caller in
            try json(try await service.settleIncident(context.parameters.get("id") ?? "", resolve: true, by: caller))
        }
    }
}
