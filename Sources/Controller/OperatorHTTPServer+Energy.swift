import FleetCore
import Foundation
import Hummingbird
import OperatorAPI

extension OperatorHTTPServer {
    /// `GET /api/v1/energy?target=all|group:G|LAMP_ID&from=ISO&to=ISO&step=hour|day|month`:
    /// target defaults to all, to to now, from to a day before to, step to hour.
    static func energyRoute(_ api: RouterGroup<Context>, _ service: FleetService) {
        route(api, .get, "energy", .viewer, service) { request, _, _ in
            let query = request.uri.queryParameters
            let stepText = query.get("step") ?? "hour"
            guard let step = EnergyStep(rawValue: stepText) else { throw APIFailure.badRequest("must be hour, day or month", field: "step") }
            let to = try query.get("to").map { text throws(APIFailure) in try instant(text, name: "to") } ?? service.now
            let from = try query.get("from").map { text throws(APIFailure) in try instant(text, name: "from") } ?? to.addingTimeInterval(-86_400)
            return try json(try await service.energy(target: query.get("target") ?? "all", from: from, to: to, step: step))
        }
    }

    /// An ISO 8601 time (`2026-11-30T17:00:00Z`, fractional seconds allowed) or date
    /// (`2026-11-30`, midnight UTC).
    static func instant(_ text: String, name: String) throws(APIFailure) -> Date {
        if let date = (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text))
            ?? (try? Date.ISO8601FormatStyle().year().month().day().parse(text))
        {
            return date
        }
        throw .badRequest("must be an ISO 8601 time like 2026-11-30T17:00:00Z, or a date like 2026-11-30", field: name)
    }
}
