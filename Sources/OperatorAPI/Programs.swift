import Foundation

/// A lighting program as the API shows it (`GET /api/v1/programs/NAME`).
public struct ProgramView: Codable, Sendable, Equatable {
    /// Its name.
    public var name: String
    /// The revision its lamps were last given.
    public var revision: UInt32
    /// The program file (see the README's "Lighting programs").
    public var source: String
    /// How many entries.
    public var entries: Int
    /// Lamps it is assigned to.
    public var lamps: Int
    /// The fleet's time-zone rule the lamps run it with.
    public var timeZone: String
    /// When and by whom it was last changed.
    public var updatedAt: Date
    public var updatedBy: String

    public init(
        name: String, revision: UInt32, source: String, entries: Int, lamps: Int, timeZone: String, updatedAt: Date, updatedBy: String
    ) {
        self.name = name
        self.revision = revision
        self.source = source
        self.entries = entries
        self.lamps = lamps
        self.timeZone = timeZone
        self.updatedAt = updatedAt
        self.updatedBy = updatedBy
    }
}

/// A program's file text (`PUT /api/v1/programs/NAME`).
public struct ProgramSave: Codable, Sendable, Equatable {
    public var source: String

    public init(source: String) {
        self.source = source
    }
}

/// Which lamps run a program (`POST /api/v1/programs/NAME/assign`).
public struct ProgramAssign: Codable, Sendable, Equatable {
    /// `lamp:ID`, `group:NAME` or `all`.
    public var target: String

    public init(target: String) {
        self.target = target
    }
}

/// The answer to an assignment: durable, and being sent.
public struct ProgramAssigned: Codable, Sendable, Equatable {
    public var program: String
    /// The program revision the lamps get.
    public var revision: UInt32
    public var target: String
    public var lamps: Int
    /// Of the target's lamps, how many hold a level, on, off or an override from a command:
    /// they follow the program only after `resume` (an override when it ends).
    public var heldByCommand: Int?

    public init(program: String, revision: UInt32, target: String, lamps: Int, heldByCommand: Int? = nil) {
        self.program = program
        self.revision = revision
        self.target = target
        self.lamps = lamps
        self.heldByCommand = heldByCommand
    }
}
