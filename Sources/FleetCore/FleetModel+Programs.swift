import LampProtocol
import LightingPrograms

/// Where lamps are when their registration does not say, and the fleet's local time.
public struct ProgramDefaults: Sendable {
    /// The fleet's time-zone rule (every lamp of a city shares it).
    public var timeZone: PosixTimeZone
    /// Latitude and longitude for lamps registered without them; nil: such lamps cannot
    /// be given a program.
    public var latitude: Double?
    public var longitude: Double?

    /// Defaults.
    public init(timeZone: PosixTimeZone, latitude: Double?, longitude: Double?) {
        self.timeZone = timeZone
        self.latitude = latitude
        self.longitude = longitude
    }
}

/// A program the fleet knows: its definition and the revision its lamps were last given.
struct KnownProgram: Sendable {
    var revision: UInt32
    var program: LightingProgram
}

/// Builds lamps' desired programs, each program's pages once for all its lamps (only the
/// header, with the lamp's place, differs).
struct ProgramBuilder {
    let programs: [String: KnownProgram]
    let defaults: ProgramDefaults
    private var built: [String: ProgramFrames?] = [:]

    init(programs: [String: KnownProgram], defaults: ProgramDefaults) {
        self.programs = programs
        self.defaults = defaults
    }

    /// The desired program of a lamp: `name` at `revision`, framed for the lamp's place.
    mutating func desired(_ name: String?, revision: UInt32, record: LampRecord) -> DesiredProgram {
        guard revision > 0 else { return .none }
        let place = FleetModel.place(of: record, defaults: defaults)
        guard let name else {
            // No program: a removal, sent as an empty header wherever the lamp is.
            let anywhere = place ?? Place(latitude: 0, longitude: 0, timeZone: defaults.timeZone)
            return DesiredProgram(revision: revision, name: nil, frames: try? ProgramFrames(revision: revision, program: nil, place: anywhere))
        }
        guard let known = programs[name], let place else { return DesiredProgram(revision: revision, name: name, frames: nil) }
        let key = "\(name) \(revision)"
        if built[key] == nil {
            built[key] = .some(try? ProgramFrames(revision: revision, program: known.program, place: place))
        }
        let frames = (built[key] ?? nil).flatMap { try? $0.placed(at: place) }
        return DesiredProgram(revision: revision, name: name, frames: frames)
    }
}

extension FleetModel {
    /// The place of a lamp: its registration, else the fleet's default; nil if neither.
    public static func place(of record: LampRecord, defaults: ProgramDefaults) -> Place? {
        guard let latitude = record.latitude ?? defaults.latitude, let longitude = record.longitude ?? defaults.longitude else {
            return nil
        }
        return Place(latitude: latitude, longitude: longitude, timeZone: defaults.timeZone)
    }

    /// Sets the programs (stored ones whose text no longer parses are skipped) and defaults,
    /// and builds every lamp's program frames (at start-up).
    public mutating func loadPrograms(_ records: [ProgramRecord], defaults: ProgramDefaults) {
        programs = [:]
        for record in records {
            if let program = try? ProgramText.parse(record.source) {
                programs[record.name] = KnownProgram(revision: record.revision, program: program)
            }
        }
        programDefaults = defaults
        var builder = ProgramBuilder(programs: programs, defaults: defaults)
        for slot in lamps.indices {
            let entry = lamps[slot]
            lamps[slot].desired.program = builder.desired(
                entry.desired.program.name, revision: entry.desired.program.revision, record: entry.record)
        }
    }

    /// A program's definition, if known.
    public func program(named name: String) -> LightingProgram? {
        programs[name]?.program
    }

    /// A program was created or changed (after the store): lamps that run it get `revision`.
    /// Returns their new desired states by slot.
    public mutating func programChanged(_ name: String, program: LightingProgram, revision: UInt32) -> [(Int, DesiredState)] {
        programs[name] = KnownProgram(revision: revision, program: program)
        noteProgramRevision(revision)
        var builder = ProgramBuilder(programs: programs, defaults: programDefaults)
        var changed: [(Int, DesiredState)] = []
        for slot in lamps.indices where lamps[slot].desired.program.name == name {
            lamps[slot].desired.program = builder.desired(name, revision: revision, record: lamps[slot].record)
            changed.append((slot, lamps[slot].desired))
        }
        return changed
    }

    /// A program was deleted (it had no lamps).
    public mutating func programDeleted(_ name: String) {
        programs[name] = nil
    }

    /// The revision of every program known, by name.
    public var programRevisions: [String: UInt32] {
        programs.mapValues(\.revision)
    }

    /// Makes a revision taken elsewhere (the counter several controllers share) the
    /// highest this model knows.
    public mutating func noteProgramRevision(_ revision: UInt32) {
        lastProgramRevision = max(lastProgramRevision, revision)
    }

    /// Program `name` (if any) was given to lamps at `revision`: as the store does, the
    /// program's revision is the newest any of its lamps was given.
    mutating func noteAssigned(_ name: String?, revision: UInt32) {
        noteProgramRevision(revision)
        if let name, let known = programs[name], known.revision < revision { programs[name]?.revision = revision }
    }

    /// Assigns a program (nil: none) to lamps (after the store); returns their new desired states.
    public mutating func assignProgram(_ name: String?, to slots: [Int], revision: UInt32) -> [(Int, DesiredState)] {
        noteAssigned(name, revision: revision)
        var builder = ProgramBuilder(programs: programs, defaults: programDefaults)
        var changed: [(Int, DesiredState)] = []
        for slot in slots where revision > lamps[slot].desired.program.revision {
            lamps[slot].desired.program = builder.desired(name, revision: revision, record: lamps[slot].record)
            changed.append((slot, lamps[slot].desired))
        }
        return changed
    }

    /// The lamps among `slots` that have no place (so cannot run a program), by id.
    public func lampsWithoutPlace(_ slots: [Int]) -> [String] {
        slots.filter { FleetModel.place(of: lamps[$0].record, defaults: programDefaults) == nil }.map { lamps[$0].record.id.value }
    }

    /// What tells what a lamp's program asks of it, at its place: nil when the lamp follows
    /// no program, or has no place.
    public func programEvaluator(for entry: LampEntry) -> ProgramEvaluator? {
        guard let name = entry.desired.program.name, let program = program(named: name),
            let place = FleetModel.place(of: entry.record, defaults: programDefaults)
        else { return nil }
        return ProgramEvaluator(program: program, place: place)
    }
}
