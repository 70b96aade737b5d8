import Foundation

/// An incident as the operator API shows it (`GET /api/v1/incidents`): a fault the controller
/// found, about one lamp or one cabinet, and where it is in its life.
public struct IncidentView: Codable, Sendable, Equatable {
    /// Its id.
    public var id: Int64
    /// `lamp-failure`, `lit-by-day`, `power-out-of-tolerance`, `cycling`, `dark-at-night` or
    /// `cabinet-power-lost`.
    public var kind: String
    /// The lamp it is about (nil for a cabinet's incident).
    public var lamp: String?
    /// The cabinet it is about (nil for a lamp's incident).
    public var cabinet: String?
    /// `open`, `acknowledged` or `resolved`.
    public var state: String
    /// When it opened.
    public var openedAt: Date
    /// Who acknowledged it (a token's name), and when.
    public var acknowledgedBy: String?
    public var acknowledgedAt: Date?
    /// Who resolved it (a token's name, or `cleared by the lamp`), and when.
    public var resolvedBy: String?
    public var resolvedAt: Date?
    /// What the detector saw, e.g. `expected on at 100.0 %, reporting 0.0 W`.
    public var detail: String

    /// An incident view.
    public init(
        id: Int64, kind: String, lamp: String?, cabinet: String?, state: String, openedAt: Date, acknowledgedBy: String?,
        acknowledgedAt: Date?, resolvedBy: String?, resolvedAt: Date?, detail: String
    ) {
        self.id = id
        self.kind = kind
        self.lamp = lamp
        self.cabinet = cabinet
        self.state = state
        self.openedAt = openedAt
        self.acknowledgedBy = acknowledgedBy
        self.acknowledgedAt = acknowledgedAt
        self.resolvedBy = resolvedBy
        self.resolvedAt = resolvedAt
        self.detail = detail
    }
}
