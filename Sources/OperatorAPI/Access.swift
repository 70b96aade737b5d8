import Foundation

/// What a token may do. Each role includes the ones before it.
public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    /// Reads lamps, groups, commands, events, stats; watches the event stream.
    case viewer
    /// Also sends commands and changes groups and their members; reads the audit log.
    case `operator`
    /// Also registers lamps and creates and revokes tokens.
    case admin

    /// Ordered by what the role may do.
    public static func < (lhs: Role, rhs: Role) -> Bool {
        lhs.rank < rhs.rank
    }

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .operator: 1
        case .admin: 2
        }
    }
}

/// A request for a new token (`POST /api/v1/tokens`, admin).
public struct TokenCreate: Codable, Sendable, Equatable {
    /// Unique name: 1 to 64 characters of A-Z a-z 0-9 . _ -
    public var name: String
    /// `viewer`, `operator` or `admin`.
    public var role: String

    /// A token request.
    public init(name: String, role: String) {
        self.name = name
        self.role = role
    }
}

/// A token as listed: never the token itself.
public struct TokenView: Codable, Sendable, Equatable {
    /// Its name.
    public var name: String
    /// Its role.
    public var role: String
    /// When it was made.
    public var createdAt: Date
    /// Who made it.
    public var createdBy: String

    /// A token view.
    public init(name: String, role: String, createdAt: Date, createdBy: String) {
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.createdBy = createdBy
    }
}

/// A new token: the only time its text is shown.
public struct TokenCreated: Codable, Sendable, Equatable {
    /// The token as listed.
    public var view: TokenView
    /// The secret: send it as `Authorization: Bearer TOKEN`.
    public var token: String

    /// A created token.
    public init(view: TokenView, token: String) {
        self.view = view
        self.token = token
    }
}

/// One audit entry (`GET /api/v1/audit`).
public struct AuditView: Codable, Sendable, Equatable {
    /// Increasing id; page with `before=`.
    public var id: Int64
    /// When.
    public var at: Date
    /// The token's name, or `command line`.
    public var actor: String
    /// The actor's role then.
    public var role: String
    /// What: `command`, `lamps.register`, `group.create`, `group.delete`, `group.members`,
    /// `token.create`, `token.revoke`, `denied`.
    public var action: String
    /// On what.
    public var target: String
    /// Particulars.
    public var detail: String
    /// `ok`, or why it was refused.
    public var outcome: String

    /// An audit entry.
    public init(id: Int64, at: Date, actor: String, role: String, action: String, target: String, detail: String, outcome: String) {
        self.id = id
        self.at = at
        self.actor = actor
        self.role = role
        self.action = action
        self.target = target
        self.detail = detail
        self.outcome = outcome
    }
}

/// A group of lamps.
public struct GroupView: Codable, Sendable, Equatable {
    /// Its name, used in targets as `group:NAME`.
    public var name: String
    /// What it is, for people.
    public var description: String?
    /// Lamps in it.
    public var lamps: Int
    /// When it was made.
    public var createdAt: Date

    /// A group view.
    public init(name: String, description: String?, lamps: Int, createdAt: Date) {
        self.name = name
        self.description = description
        self.lamps = lamps
        self.createdAt = createdAt
    }
}

/// A request for a new, empty group (`POST /api/v1/groups`).
public struct GroupCreate: Codable, Sendable, Equatable {
    /// 1 to 64 characters of A-Z a-z 0-9 . _ -
    public var name: String
    /// Optional, at most 200 characters.
    public var description: String?

    /// A group request.
    public init(name: String, description: String? = nil) {
        self.name = name
        self.description = description
    }
}

/// Lamps to add to and remove from a group, in one step (`POST /api/v1/groups/NAME/members`).
public struct GroupMembersChange: Codable, Sendable, Equatable {
    /// Lamp ids to add (already members are fine).
    public var add: [String]?
    /// Lamp ids to remove (non-members are fine).
    public var remove: [String]?

    /// A membership change.
    public init(add: [String]? = nil, remove: [String]? = nil) {
        self.add = add
        self.remove = remove
    }
}

/// Who a token belongs to (`GET /api/v1/whoami`, any valid token): what a client such as the
/// dashboard needs to decide what to offer.
public struct WhoAmI: Codable, Sendable, Equatable {
    /// The token's name.
    public var name: String
    /// Its role: `viewer`, `operator` or `admin`.
    public var role: String
    /// The map tile server the dashboard draws under the lamps (`lamplighterd run --map-tiles`):
    /// a URL with `{z}`, `{x}` and `{y}`; absent when none is configured.
    public var mapTiles: String?

    /// An answer.
    public init(name: String, role: String, mapTiles: String? = nil) {
        self.name = name
        self.role = role
        self.mapTiles = mapTiles
    }
}
