import FleetCore
import FleetStore
import LampProtocol
import LightingPrograms
import Synchronization

/// Where lamps are when their registration does not say, and the fleet's local time.
public struct ProgramDefaults: Sendable {
    /// The fleet's time-zone rule (every lamp of a city shares it).
    public var timeZone: PosixTimeZone
    /// Latitude and longitude for lamps registered without them; nil: such lamps cannot
    /// be given a program.
    public var latitude: Double?
    public var longitude: Double?

    public init(timeZone: PosixTimeZone, latitude: Double?, longitude: Double?) {
        self.timeZone = timeZone
        self.latitude = latitude
        self.longitude = longitude
    }
}

/// A program the fleet knows: its definition and the frames' pages (shared by every lamp
/// that runs it; only the header, with the lamp's place, differs).
struct KnownProgram: Sendable {
    var revision: UInt32
    var program: LightingProgram
}

extension FleetState {
    /// The place of a lamp: its registration, else the fleet's default; nil if neither.
    static func place(of record: LampRecord, defaults: ProgramDefaults) -> Place? {
        guard let latitude = record.latitude ?? defaults.latitude, let longitude = record.longitude ?? defaults.longitude else {
            return nil
        }
        return Place(latitude: latitude, longitude: longitude, timeZone: defaults.timeZone)
    }

    /// Builds lamps' desired programs, each program's pages once for all its lamps.
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
            let place = FleetState.place(of: record, defaults: defaults)
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

    /// Sets the programs and defaults, and builds every lamp's program frames (at start-up).
    public func loadPrograms(_ records: [ProgramRecord], defaults: ProgramDefaults) {
        var programs: [String: KnownProgram] = [:]
        for record in records {
            if let program = try? ProgramText.parse(record.source) {
                programs[record.name] = KnownProgram(revision: record.revision, program: program)
            }
        }
        programState.withLock { $0 = (programs, defaults) }
        var builder = ProgramBuilder(programs: programs, defaults: defaults)
        withTable { table in
            for slot in table.entries.indices {
                let entry = table.entries[slot]
                table.entries[slot].desired.program = builder.desired(
                    entry.desired.program.name, revision: entry.desired.program.revision, record: entry.record)
            }
        }
    }

    /// The fleet's program defaults.
    public var programDefaults: ProgramDefaults { programState.withLock { $0.defaults } }

    /// A program's definition, if known.
    public func program(named name: String) -> LightingProgram? {
        programState.withLock { $0.programs[name]?.program }
    }

    /// A program was created or changed (after the store): lamps that run it get `revision`.
    /// Returns their new desired states by slot.
    public func programChanged(_ name: String, program: LightingProgram, revision: UInt32) -> [(Int, DesiredState)] {
        let (programs, defaults) = programState.withLock { state in
            state.programs[name] = KnownProgram(revision: revision, program: program)
            return (state.programs, state.defaults)
        }
        var builder = ProgramBuilder(programs: programs, defaults: defaults)
        return withTable { table in
            var changed: [(Int, DesiredState)] = []
            for slot in table.entries.indices where table.entries[slot].desired.program.name == name {
                table.entries[slot].desired.program = builder.desired(name, revision: revision, record: table.entries[slot].record)
                changed.append((slot, table.entries[slot].desired))
            }
            return changed
        }
    }

    /// A program was deleted (it had no lamps).
    public func programDeleted(_ name: String) {
        programState.withLock { _ = $0.programs.removeValue(forKey: name) }
    }

    /// Assigns a program (nil: none) to lamps (after the store); returns their new desired states.
    public func assignProgram(_ name: String?, to slots: [Int], revision: UInt32) -> [(Int, DesiredState)] {
        var builder = programState.withLock { ProgramBuilder(programs: $0.programs, defaults: $0.defaults) }
        return withTable { table in
            var changed: [(Int, DesiredState)] = []
            for slot in slots where revision > table.entries[slot].desired.program.revision {
                table.entries[slot].desired.program = builder.desired(name, revision: revision, record: table.entries[slot].record)
                changed.append((slot, table.entries[slot].desired))
            }
            return changed
        }
    }

    /// The lamps among `slots` that have no place (so cannot run a program), by id.
    public func lampsWithoutPlace(_ slots: [Int]) -> [String] {
        let defaults = programDefaults
        return withTable { table in
            slots.filter { FleetState.place(of: table.entries[$0].record, defaults: defaults) == nil }.map { table.entries[$0].record.id.value }
        }
    }

    /// What tells what a lamp's program asks of it, at its place: nil when the lamp follows
    /// no program, or has no place.
    public func programEvaluator(for entry: LampEntry) -> ProgramEvaluator? {
        guard let name = entry.desired.program.name, let program = program(named: name),
            let place = FleetState.place(of: entry.record, defaults: programDefaults)
        else { return nil }
        return ProgramEvaluator(program: program, place: place)
    }
}
