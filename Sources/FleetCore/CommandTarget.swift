import LampProtocol

/// Which lamps a command addresses.
public enum CommandTarget: Sendable, Hashable, CustomStringConvertible {
    /// One lamp.
    case lamp(LampID)
    /// Every lamp in a group.
    case group(String)
    /// The whole fleet.
    case all

    /// Parses `lamp:ID`, `group:NAME` or `all`; nil for anything else.
    public init?(_ text: String) {
        if text == "all" {
            self = .all
        } else if text.hasPrefix("lamp:"), let id = LampID(String(text.dropFirst(5))) {
            self = .lamp(id)
        } else if text.hasPrefix("group:"), GroupName.isValid(String(text.dropFirst(6))) {
            self = .group(String(text.dropFirst(6)))
        } else {
            return nil
        }
    }

    /// The target as text.
    public var description: String {
        switch self {
        case .lamp(let id): "lamp:\(id)"
        case .group(let name): "group:\(name)"
        case .all: "all"
        }
    }
}

/// Group names: 1 to 64 characters of `A-Z a-z 0-9 . _ -`, like lamp ids but longer.
public enum GroupName {
    /// Whether `name` is a valid group name.
    public static func isValid(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy(LampID.isAllowed)
    }
}
