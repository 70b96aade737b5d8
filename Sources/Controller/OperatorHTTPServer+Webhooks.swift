import FleetCore
import Hummingbird
import OperatorAPI

extension OperatorHTTPServer {
    /// `POST|GET /webhooks`, `GET|DELETE /webhooks/{id}`, `GET /webhooks/{id}/deliveries`,
    /// `POST /webhooks/{id}/deliveries/{delivery}/replay`. Changes need admin; reading, operator.
    static func webhookRoutes(_ api: RouterGroup<Context>, _ service: FleetService) {
        route(api, .post, "webhooks", .admin, service) { request, _, caller in
            let body = try await request.body.collect(upTo: maximumBodySize)
            return try json(try await service.createWebhook(try decode(WebhookCreate.self, body), by: caller), status: .created)
        }
        route(api, .get, "webhooks", .operator, service) { _, _, _ in
            try json(try await service.webhooks())
        }
        route(api, .get, "webhooks/:id", .operator, service) { _, context, _ in
            try json(try await service.webhook(context.parameters.get("id") ?? ""))
        }
        route(api, .delete, "webhooks/:id", .admin, service) { _, context, caller in
            try await service.deleteWebhook(context.parameters.get("id") ?? "", by: caller)
            return Response(status: .noContent)
        }
        route(api, .get, "webhooks/:id/deliveries", .operator, service) { request, context, _ in
            let limit = try integer(request.uri.queryParameters.get("limit"), name: "limit", default: 100, range: 1...10_000)
            return try json(try await service.webhookDeliveries(context.parameters.get("id") ?? "", limit: limit))
        }
        route(api, .post, "webhooks/:id/deliveries/:delivery/replay", .admin, service) { _, context, caller in
            try json(
                try await service.replayDelivery(
                    context.parameters.get("id") ?? "", delivery: context.parameters.get("delivery") ?? "", by: caller))
        }
    }
}
