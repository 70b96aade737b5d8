import FleetCore
import Synchronization

/// Takes the fleet's ``LampSample``s for a watcher's pass (``FaultWatch``, ``ProgramWatch``):
/// under the fleet's lock, into an array kept between passes, so a pass copies no fleet model
/// and, once the array has grown, allocates nothing.
final class LampSampler: Sendable {
    private let fleet: FleetState
    /// The array between passes (empty while a pass holds it).
    private let spare = Mutex<[LampSample]>([])

    init(fleet: FleetState) {
        self.fleet = fleet
    }

    /// Runs `body` on every lamp's sample, taken now.
    func withSamples<Result>(_ body: ([LampSample]) throws -> Result) rethrows -> Result {
        var samples = spare.withLock { spare -> [LampSample] in
            var taken: [LampSample] = []
            swap(&taken, &spare)
            return taken
        }
        defer {
            samples.removeAll(keepingCapacity: true)
            spare.withLock { $0 = samples }
        }
        fleet.withModel { $0.lampSamples(into: &samples) }
        return try body(samples)
    }
}
