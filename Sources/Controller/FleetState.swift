import FleetCore
import LampProtocol
import LightingPrograms
import Synchronization

/// The fleet model behind one lock, shared by the gateway's event loops and the API.
///
/// The rules live in ``FleetModel`` (FleetCore); this type only decides what is done under
/// the lock. Fleet-wide operations take it once for the whole batch, and the per-message
/// operations (ack, status report) are one array access under it.
public final class FleetState: Sendable {
    private let model: Mutex<FleetModel>

    /// A fleet loaded from the store; the version sequences continue after `highestVersion`
    /// (control) and `highestProgramRevision` (programs).
    public init(stored: [StoredLamp], highestVersion: UInt32 = 0, highestProgramRevision: UInt32 = 0) {
        model = Mutex(FleetModel(stored: stored, highestVersion: highestVersion, highestProgramRevision: highestProgramRevision))
    }

    /// Runs `body` with the model locked: reads and changes in one critical section.
    public func withModel<Result, Failure: Error>(_ body: (inout FleetModel) throws(Failure) -> Result) throws(Failure) -> Result {
        try model.withLock { (model: inout FleetModel) throws(Failure) -> Result in try body(&model) }
    }

    /// How many lamps are registered.
    public var count: Int { withModel { $0.count } }

    /// One lamp's entry.
    public func entry(_ id: LampID) -> LampEntry? { withModel { $0.entry(id) } }

    /// The slots of the lamps a target addresses (see ``FleetModel/resolve(_:)``).
    public func resolve(_ target: CommandTarget) -> [Int]? { withModel { $0.resolve(target) } }

    /// Hands out the next version of the fleet-wide sequence.
    public func nextVersion() -> UInt32 { withModel { $0.nextVersion() } }

    /// Runs `body` over a consistent snapshot of every entry, indexed by slot.
    public func withEntries<Result>(_ body: ([LampEntry]) -> Result) -> Result {
        withModel { body($0.lamps) }
    }

    /// The fleet's program defaults.
    public var programDefaults: ProgramDefaults { withModel { $0.programDefaults } }

    /// A program's definition, if known.
    public func program(named name: String) -> LightingProgram? { withModel { $0.program(named: name) } }

    /// What tells what a lamp's program asks of it now (see ``FleetModel/programEvaluator(for:)``).
    public func programEvaluator(for entry: LampEntry) -> ProgramEvaluator? { withModel { $0.programEvaluator(for: entry) } }

    /// The groups of the lamp in `slot`.
    func groups(of slot: Int) -> [String] { withModel { $0.groups(of: slot) } }

    /// The reported states of the lamps in these slots, for the writer.
    func reportedRecords(_ slots: some Sequence<Int>) -> [ReportedRecord] {
        withModel { model in slots.map { model.lamps[$0].reportedRecord } }
    }
}
