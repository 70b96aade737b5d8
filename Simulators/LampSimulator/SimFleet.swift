import FleetCore
import LampProtocol
import NIOCore
import NIOPosix

/// The lamps of one event loop, and the one timer that drives them all: reports, expiries,
/// fault injection and (re)connects, so the simulator needs no timer per lamp.
final class SimFleet {
    let loop: any EventLoop
    private(set) var slots: [SimSlot] = []
    /// When each slot next needs the timer (by position); idle lamps are skipped cheaply.
    var due: [UInt64] = []
    /// Slots connecting now.
    var connecting = 0
    /// Masking keys for every client frame of this loop's lamps.
    var maskKeys = MaskKeys()
    /// With failure or drop injection every connected lamp draws its chance every tick.
    var injectsFaults: Bool { failureChancePerTick > 0 || dropChancePerTick > 0 }
    /// At most this many lamps of this loop may be connecting at once.
    let maximumConnecting: Int
    let failureChancePerTick: Double
    let dropChancePerTick: Double
    /// Where the lamps of this loop read the time (the wall clock; a manual clock in tests).
    let clock: any FleetClock
    static let tickMilliseconds: Int64 = 100

    init(
        loop: any EventLoop, maximumConnecting: Int, failureChancePerTick: Double, dropChancePerTick: Double,
        clock: any FleetClock = SystemClock()
    ) {
        self.loop = loop
        self.clock = clock
        self.maximumConnecting = maximumConnecting
        self.failureChancePerTick = failureChancePerTick
        self.dropChancePerTick = dropChancePerTick
    }

    func add(_ slot: SimSlot) {
        slot.fleet = self
        slot.position = slots.count
        slots.append(slot)
        due.append(0)
        slot.updateDue()
    }

    func start() {
        let bound = NIOLoopBound(self, eventLoop: loop)
        loop.scheduleRepeatedTask(initialDelay: .milliseconds(1), delay: .milliseconds(SimFleet.tickMilliseconds)) { _ in
            bound.value.tick()
        }
    }

    private func tick() {
        let now = clock.nowMilliseconds()
        for position in due.indices where due[position] <= now {
            let slot = slots[position]
            switch slot.state {
            case .idle(let at):
                // Disconnected lamps keep running their program and override expiries.
                slot.lamp.runLocally(now: now)
                guard at <= now else {
                    slot.updateDue()
                    continue
                }
                guard connecting < maximumConnecting else { continue }
                slot.connect()
            case .connected:
                slot.tick(now: now, failureChance: failureChancePerTick, dropChance: dropChancePerTick)
            default:
                break
            }
        }
    }

    /// Every connected lamp sends `count` status reports at once (for ingest benchmarks).
    func burst(_ count: Int) {
        let now = clock.nowMilliseconds()
        for slot in slots where slot.isConnected && !slot.stalled {
            guard case .connected(let context) = slot.state else { continue }
            let report = LampMessage.statusReport(slot.lamp.status(now: now))
            slot.send(Array(repeating: report, count: count), context)
        }
    }

    /// Lamp-clock ms until the first of this loop's lamps next does something on its own
    /// (``SimLamp/millisecondsToNextEvent(now:)``); nil when none has anything scheduled.
    func millisecondsToNextEvent() -> UInt64? {
        let now = clock.nowMilliseconds()
        return slots.compactMap { $0.lamp.millisecondsToNextEvent(now: now) }.min()
    }

    /// Every lamp's clock skips `milliseconds` ahead; connected lamps report at once, so the
    /// controller sees the new clock. Returns the lamps' clock afterwards (nil: no lamps).
    func skipClock(by milliseconds: UInt64) -> UInt64? {
        let now = clock.nowMilliseconds()
        for slot in slots {
            slot.lamp.skipClock(by: milliseconds)
            if slot.isConnected && !slot.stalled, case .connected(let context) = slot.state {
                slot.send([.statusReport(slot.lamp.status(now: now))], context)
            }
            slot.updateDue()
        }
        return slots.first?.lamp.clock(now)
    }

    /// Closes every link (code 1000) and stops reconnecting. Returns a future per link that
    /// completes once its close frame is written and the link closed.
    func closeAll() -> [EventLoopFuture<Void>] {
        var closed: [EventLoopFuture<Void>] = []
        for slot in slots {
            let state = slot.state
            slot.state = .idle(reconnectAt: .max)
            if case .connected(let context) = state {
                slot.close(context, code: 1000)
                closed.append(context.channel.closeFuture)
            }
        }
        return closed
    }

    struct Snapshot: Sendable {
        var connected = 0
        var everConnected = 0
        var appliedByVersion: [UInt32: Int] = [:]
        var lamps: [LampReport] = []
        /// The lamps' simulated clock, Unix ms (they share it; nil: no lamps, or real time).
        var lampClock: UInt64?
    }

    func snapshot(includeLamps: Bool) -> Snapshot {
        var snapshot = Snapshot()
        snapshot.lampClock = slots.first.flatMap { $0.lamp.simClock.isSimulated ? $0.lamp.clock(clock.nowMilliseconds()) : nil }
        for slot in slots {
            if slot.isConnected { snapshot.connected += 1 }
            if slot.everConnected { snapshot.everConnected += 1 }
            snapshot.appliedByVersion[slot.lamp.appliedVersion, default: 0] += 1
            if includeLamps {
                snapshot.lamps.append(
                    LampReport(
                        id: slot.lamp.id.value, connected: slot.isConnected, appliedVersion: slot.lamp.appliedVersion,
                        appliedHistory: slot.lamp.appliedHistory, level: slot.lamp.status(now: clock.nowMilliseconds()).level.permille,
                        lastCloseCode: slot.lastCloseCode, linkState: slot.stateDescription(now: clock.nowMilliseconds()),
                        programRevision: slot.lamp.programRevision,
                        programHistory: slot.lamp.programHistory.map { [$0.clock, Int64($0.level)] },
                        energyWattHours: slot.lamp.energyCounterWattHours,
                        firstReportedEnergyWattHours: slot.lamp.firstReportedEnergyWattHours))
            }
        }
        return snapshot
    }
}

/// One lamp in the final report.
struct LampReport: Codable, Sendable {
    let id: String
    let connected: Bool
    let appliedVersion: UInt32
    let appliedHistory: [UInt32]
    let level: UInt16
    let lastCloseCode: UInt16?
    /// Where its link is (idle until when, connecting, connected), and its loop's count of
    /// lamps connecting: for a lamp that is not connected, why.
    let linkState: String
    /// The program revision it holds.
    let programRevision: UInt32
    /// Each time it looked at its program: [lamp clock (Unix s), level per mille].
    let programHistory: [[Int64]]
    /// Its energy counter now, Wh (as its next report would say).
    let energyWattHours: UInt32
    /// Its energy counter in the first report it sent over a link, Wh (nil: it never sent
    /// one); the controller can only count from there.
    let firstReportedEnergyWattHours: UInt32?
}
