import FleetCore
import Foundation
import LampProtocol
import OperatorAPI

extension FleetService {
    /// Incidents newest first, filtered (each nil: any); a filter that names no such state or
    /// kind, or a lamp id that is not one, is refused naming it.
    public func incidents(state: String?, kind: String?, lamp: String?, cabinet: String?, limit: Int) async throws(FleetError) -> [IncidentView] {
        var stateFilter: IncidentState?
        if let state {
            guard let known = IncidentState(rawValue: state) else {
                throw .invalid("must be one of \(IncidentState.allCases.map(\.rawValue).joined(separator: ", "))", field: "state")
            }
            stateFilter = known
        }
        var kindFilter: FaultKind?
        if let kind {
            guard let known = FaultKind(rawValue: kind) else {
                throw .invalid("must be one of \(FaultKind.allCases.map(\.rawValue).joined(separator: ", "))", field: "kind")
            }
            kindFilter = known
        }
        var lampFilter: LampID?
        if let lamp {
            guard let id = LampID(lamp) else { throw .invalid("is not a lamp id", field: "lamp") }
            lampFilter = id
        }
        return try await storing("reading incidents") {
            try await store.incidents(state: stateFilter, kind: kindFilter, lamp: lampFilter, cabinet: cabinet, limit: limit).map(Self.view)
        }
    }

    /// One incident.
    public func incident(_ text: String) async throws(FleetError) -> IncidentView {
        guard let id = Int64(text), let incident = try await storing("reading an incident", { try await store.incident(id) }) else {
            throw .notFound("no incident \(text)", field: "id")
        }
        return Self.view(incident)
    }

    /// Acknowledges (`resolve` false) or resolves an incident, audited; an incident already
    /// resolved, or unknown, is refused (409, 404).
    public func settleIncident(_ text: String, resolve: Bool, by caller: Caller) async throws(FleetError) -> IncidentView {
        let action = resolve ? "incident.resolve" : "incident.acknowledge"
        guard let id = Int64(text) else { throw .notFound("no incident \(text)", field: "id") }
        let audit = entry(caller, action, target: "incident:\(id)", detail: "")
        if let changed = try await storing("storing the incident", { try await faults.settle(id, resolve: resolve, audit: audit) }) {
            return Self.view(changed)
        }
        let stored = try await storing("reading an incident") { try await store.incident(id) }
        guard stored != nil else { throw .notFound("no incident \(text)", field: "id") }
        await self.audit(caller, action, target: "incident:\(id)", detail: "", outcome: "refused: already resolved")
        throw .conflict("incident \(id) is resolved already", field: "id")
    }

    static func view(_ incident: IncidentRecord) -> IncidentView {
        var lamp: String?
        var cabinet: String?
        switch incident.subject {
        case .lamp(let id): lamp = id.value
        case .cabinet(let name): cabinet = name
        }
        return IncidentView(
            id: incident.id, kind: incident.kind.rawValue, lamp: lamp, cabinet: cabinet, state: incident.state.rawValue,
            openedAt: Date(unixMilliseconds: incident.openedAtMilliseconds), acknowledgedBy: incident.acknowledgedBy,
            acknowledgedAt: incident.acknowledgedAtMilliseconds.map { Date(unixMilliseconds: $0) }, resolvedBy: incident.resolvedBy,
            resolvedAt: incident.resolvedAtMilliseconds.map { Date(unixMilliseconds: $0) }, detail: incident.detail)
    }
}
