import FleetCore
import LampProtocol
import LightingPrograms
import Logging
import ServiceLifecycle
import Synchronization

/// Runs the fleet's ``ProgramJudge`` every `interval` and emits its verdicts' changes.
public final class ProgramWatch: Service, Sendable {
    let fleet: FleetState
    let events: FleetEvents
    let clock: any FleetClock
    let logger: Logger
    /// Seconds between passes (SIGHUP can change it; it applies from the next pass).
    private let intervalMilliseconds: Atomic<Int64>
    /// The time between passes.
    public var interval: Duration { .milliseconds(intervalMilliseconds.load(ordering: .relaxed)) }
    /// The judge and its verdicts.
    private let judge: Mutex<ProgramJudge>
    /// What the judge reads of each lamp.
    private let sampler: LampSampler

    init(
        fleet: FleetState, events: FleetEvents, clock: any FleetClock, interval: Duration = .seconds(60), graceSeconds: Int64 = 180,
        logger: Logger
    ) {
        self.fleet = fleet
        self.sampler = LampSampler(fleet: fleet)
        self.events = events
        self.clock = clock
        self.intervalMilliseconds = Atomic(max(1, interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000))
        self.judge = Mutex(ProgramJudge(graceSeconds: graceSeconds))
        self.logger = logger
    }

    /// Changes the time between passes, from the next pass on.
    public func setInterval(_ interval: Duration) {
        intervalMilliseconds.store(max(1, interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000), ordering: .relaxed)
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                // A graceful shutdown ends the wait at once rather than after up to an interval.
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            } catch {
                break
            }
            check(atMilliseconds: clock.nowMilliseconds())
        }
    }

    /// One pass over the fleet; returns the events it emitted.
    @discardableResult
    public func check(atMilliseconds now: UInt64) -> [FleetEvent] {
        // The fields the judge reads, taken under the fleet's lock into a kept array and judged
        // outside it, so the links never wait for a pass. A snapshot of the whole model (shared
        // until the next change) made the next status report copy every lamp under that lock.
        let emitted = sampler.withSamples { samples in judge.withLock { $0.judge(samples, atMilliseconds: now) } }
        for (slot, event) in emitted {
            events.emit(event, slot: slot, atMilliseconds: now)
            if case .program(let id, let mismatch?) = event {
                logger.notice("lamp and program disagree", metadata: ["lamp.id": "\(id)", "mismatch": "\(mismatch)"])
            }
        }
        return emitted.map(\.event)
    }
}
