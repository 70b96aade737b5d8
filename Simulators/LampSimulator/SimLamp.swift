import FleetCore
import LampAuth
import LampProtocol
import LightingPrograms

/// What a simulated lamp does to misbehave, for fault-injection runs.
enum Misbehaviour: Sendable, Equatable {
    /// Behaves.
    case none
    /// Signs its hello with a wrong key.
    case wrongKey
    /// After connecting, sends bytes that are not a message (once).
    case garbage
    /// After connecting, sends a message over the size limit (once).
    case oversize
    /// After connecting, stops answering anything, pings included (half-open link).
    case stall
    /// After connecting, replays its captured hello on a second link (once).
    case replay
}

/// An electrical fault of a simulated lamp, which only the controller's own fault detection
/// finds (the lamp reports no fault bit for it): `lampsim --fail-lamps/--stuck-on/--power-drift/--cycling`.
enum ElectricalFault: Sendable, Equatable {
    /// Works.
    case none
    /// Draws 0 W while it says it is lit (a dead lamp behind a live controller).
    case failed
    /// Stays lit at full whatever it is told (a welded relay).
    case stuckOn
    /// Draws this factor of its rated power (1.5: 50 % over).
    case drift(Double)
    /// While it should be lit, goes dark and lit again every this many ms of its clock, and
    /// reports each change (a failing photocell or ballast).
    case cycling(UInt64)
}

/// What kind of lamp is simulated: its protocol minor, its capabilities, and the state it
/// starts in (for compatibility and fault-injection runs).
struct SimLampProfile: Sendable, Equatable {
    /// The lamp's protocol minor version (0 to 2).
    var minorVersion: UInt8 = LampProtocolVersion.minor
    /// Whether it dims (else it shows any level above 0 at full and refuses other levels).
    var dimmable = true
    /// Whether it runs lighting programs.
    var programs = true
    /// Answer every n-th request with `nack(busy)` (0: never).
    var busyEvery = 0
    /// Versions it holds at start, as if it had last talked to another database (0: none).
    var startVersion: UInt32 = 0

    /// The capabilities announced in the hello.
    var capabilities: Capabilities {
        var set: Capabilities = [.energyMeter, .temperature, .realTimeClock]
        if dimmable { set.insert(.dimmable) }
        if programs { set.insert(.programs) }
        return set
    }
}

/// One simulated lamp: its identity, physical model and protocol state. Confined to one
/// event loop; uses LampProtocol for every byte, never a codec of its own.
final class SimLamp {
    let id: LampID
    /// The lamp key: derived from the master at start (generation 0), replaced by a rekey
    /// (SPEC.md §8.12) and used from the next hello on. Kept in memory only: a real lamp
    /// stores it durably before it acks; a restarted lampsim starts again from generation 0.
    private(set) var key: LampKey
    /// The generation of ``key``.
    private(set) var keyGeneration: UInt32 = 0
    let index: Int
    let wattage: Double
    var misbehaviour: Misbehaviour
    var misbehaved = false
    let profile: SimLampProfile
    /// Requests received, for ``SimLampProfile/busyEvery``.
    private var requestsReceived = 0
    /// The epoch of the last welcome accepted (SPEC.md §5.4), kept as in non-volatile memory.
    private(set) var fleetEpoch = FleetEpoch.none

    // Versioned state (SPEC.md §8.0), kept across reconnects as in non-volatile memory.
    private(set) var appliedVersion: UInt32 = 0
    private(set) var configVersion: UInt32 = 0
    /// Every control version applied, in order: lets tests check that an offline lamp
    /// never applies an intermediate state.
    private(set) var appliedHistory: [UInt32] = []
    private var config = DesiredConfig.initial

    // Physical model.
    private(set) var mode = LampMode.failSafe
    private var fadeFrom = 1000.0
    private var fadeTo = 1000.0
    private var fadeStart: UInt64 = 0
    private var fadeMilliseconds: UInt64 = 0
    /// A fade ended and the controller has not yet been told the final level.
    private var fadeEndUnreported = false
    /// When the override ends, on the lamp's clock (ms).
    private var overrideUntil: UInt64?
    private(set) var faults: FaultSet = []
    private var energyWattHours = 0.0
    /// The energy counter in the first report the lamp sent over a link (nil: none yet): the
    /// controller counts from there, so the final report gives both.
    private(set) var firstReportedEnergyWattHours: UInt32?
    /// The energy counter as a report would give it now (whole Wh).
    var energyCounterWattHours: UInt32 { UInt32(clamping: Int(energyWattHours)) }
    private var burnSeconds = 0.0
    private var lastModelUpdate: UInt64

    // Link state.
    var serverNonce = Block16.zero
    var clientNonce = Block16.zero
    /// The minor the last challenge announced: with ours, it decides whether frames carry tags.
    private var controllerMinor: UInt8 = 0
    /// Seals what the lamp sends after the welcome and checks what it receives (SPEC.md §4.3);
    /// nil before the welcome and on a link of minor 0 or 1.
    var frames: FrameAuthenticator?
    var capturedHello: [UInt8]?
    private(set) var authenticated = false
    var reportIntervalMilliseconds: UInt64 = 60_000
    var nextReportAt: UInt64 = 0
    /// The cycling half-period last reported (``ElectricalFault/cycling(_:)``).
    private var reportedCyclingPhase: UInt64?
    private var eventSequence: UInt32 = 0
    private var unackedEvents: [LampEvent] = []
    private var clockOffsetMilliseconds: Int64 = 0
    var backoff: Backoff
    let simClock: SimClock

    // Lighting program (SPEC.md §8.10), kept across reconnects as in non-volatile memory.
    private(set) var programRevision: UInt32 = 0
    private var program: ProgramEvaluator?
    /// A transfer in progress: its header and the pages so far.
    private var transfer: (header: ProgramHeader, pages: [ProgramPage])?
    /// The program's current switch point, and when (lamp clock, s) the next one is due.
    private var programLevel: UInt16?
    private var nextProgramChange: Int64 = .max
    /// The levels shown while following the program: (lamp clock s, level per mille), for
    /// the report (a test checks them against the program, also while offline).
    private(set) var programHistory: [(clock: Int64, level: UInt16)] = []

    static let maximumUnackedEvents = 32
    /// Its electrical fault, if any (set once, before it connects).
    var electrical = ElectricalFault.none

    init(
        index: Int, id: LampID, key: LampKey, wattage: Double, misbehaviour: Misbehaviour, backoff: Backoff, clock: SimClock = .real(),
        profile: SimLampProfile = SimLampProfile(), now: UInt64
    ) {
        self.profile = profile
        appliedVersion = profile.startVersion
        configVersion = profile.startVersion
        programRevision = profile.startVersion
        self.simClock = clock
        self.index = index
        self.id = id
        self.key = key
        self.wattage = wattage
        self.misbehaviour = misbehaviour
        self.backoff = backoff
        self.lastModelUpdate = clock.isSimulated ? clock.simulated(now) : now
        fadeStart = now
    }

    /// The level shown now.
    func level(at now: UInt64) -> Double {
        guard fadeMilliseconds > 0, now < fadeStart + fadeMilliseconds else { return fadeTo }
        let progress = Double(now - fadeStart) / Double(fadeMilliseconds)
        return fadeFrom + (fadeTo - fadeFrom) * progress
    }

    private func move(to target: Level, fade: FadeTime, now: UInt64) {
        updateModel(now: now)
        var shown = Double(target.permille)
        if target.isOn {
            // A lamp that cannot dim shows any level above 0 as full (SPEC.md §6.1).
            if !profile.dimmable { shown = 1000 }
            shown = min(max(shown, Double(config.minLevel.permille)), Double(config.maxLevel.permille))
        }
        fadeFrom = level(at: now)
        fadeTo = shown
        fadeStart = now
        fadeMilliseconds = UInt64(fade.milliseconds)
        fadeEndUnreported = fadeMilliseconds > 0
    }

    /// Accumulates energy and burn time up to `now`.
    /// On a simulated clock (`--time-scale`, skips), energy and burn time accrue on the lamp's
    /// clock, as a real lamp's would over the night it simulates; otherwise in real time.
    func updateModel(now: UInt64) {
        let time = simClock.isSimulated ? clock(now) : now
        guard time > lastModelUpdate else { return }
        let seconds = Double(time - lastModelUpdate) / 1000
        lastModelUpdate = time
        let watts = powerWatts(at: now)
        energyWattHours += watts * seconds / 3600
        // Burn time is time lit: the controller's standby power is not light.
        if !faults.contains(.lampFailure) && level(at: now) > 0 && !cyclingDark(at: now) { burnSeconds += seconds }
    }

    /// Active power: proportional to light output, plus 0.5 W standby for the controller.
    func powerWatts(at now: UInt64) -> Double {
        guard !faults.contains(.lampFailure) else { return 0.5 }
        switch electrical {
        case .none: return wattage * level(at: now) / 1000 + 0.5
        case .failed: return 0
        case .stuckOn: return wattage + 0.5
        case .drift(let factor): return wattage * level(at: now) / 1000 * factor + 0.5
        case .cycling: return cyclingDark(at: now) ? 0.5 : wattage * level(at: now) / 1000 + 0.5
        }
    }

    /// Which half-period of a cycling lamp's clock it is in (odd: dark); nil for other lamps.
    func cyclingPhase(at now: UInt64) -> UInt64? {
        guard case .cycling(let half) = electrical else { return nil }
        return clock(now) / max(1, half)
    }

    /// Whether a cycling lamp that should be lit is in its dark half now.
    func cyclingDark(at now: UInt64) -> Bool {
        guard let phase = cyclingPhase(at: now) else { return false }
        return phase % 2 == 1 && level(at: now) > 0
    }

    // MARK: Protocol

    /// The minor the hello announces to a controller whose challenge announced `minor`: our
    /// own, but at most 1 to a controller before 1.2 (SPEC.md §5.2).
    func announcedMinor(to minor: UInt8) -> UInt8 {
        minor < Hello.fleetEpochMinorVersion ? min(profile.minorVersion, 1) : profile.minorVersion
    }

    /// The hello answering a challenge.
    func hello(for challenge: Challenge, now: UInt64) -> Hello {
        serverNonce = challenge.serverNonce
        clientNonce = Nonce.random()
        controllerMinor = challenge.minorVersion
        frames = nil
        var hello = Hello(
            minorVersion: announcedMinor(to: challenge.minorVersion),
            // A fixed printable label of 11 bytes: always a valid firmware version.
            lampID: id, firmware: FirmwareVersion("lampsim-1.0")!,
            capabilities: profile.capabilities, appliedVersion: appliedVersion,
            configVersion: configVersion, programRevision: programRevision, clock: UInt32(clamping: clock(now) / 1000),
            clientNonce: clientNonce, fleetEpoch: fleetEpoch, mac: .zero)
        let signingKey = misbehaviour == .wrongKey ? SimLamp.wrongKey : key
        hello.mac = signingKey.helloMAC(for: hello, serverNonce: challenge.serverNonce)
        return hello
    }

    static let wrongKey = LampKey(bytes: [UInt8](repeating: 0x5a, count: 32))

    /// Checks the welcome; returns false if the controller could not prove it holds our key.
    func welcomed(_ welcome: Welcome, now: UInt64) -> Bool {
        guard key.verify(welcome, clientNonce: clientNonce, serverNonce: serverNonce) else { return false }
        if let epoch = welcome.fleetEpoch, epoch != fleetEpoch {
            // SPEC.md §5.4: another database's versions mean nothing here; keep the light
            // and the program, apply whatever the controller sends.
            fleetEpoch = epoch
            appliedVersion = 0
            configVersion = 0
            programRevision = 0
        }
        authenticated = true
        if AuthenticationTranscript.framesAuthenticated(controllerMinor: controllerMinor, lampMinor: announcedMinor(to: controllerMinor)) {
            frames = FrameAuthenticator(lampKey: key, role: .lamp, clientNonce: clientNonce, serverNonce: serverNonce)
        }
        backoff.reset()
        if !simClock.isSimulated {
            clockOffsetMilliseconds = Int64(bitPattern: welcome.timeMilliseconds) - Int64(bitPattern: now)
        }
        if configVersion == 0 {
            reportIntervalMilliseconds = UInt64(welcome.reportIntervalSeconds) * 1000
        }
        return true
    }

    func linkClosed() {
        authenticated = false
        frames = nil
    }

    /// The lamp's clock, Unix ms: set from the welcome, or the simulated clock (moved on by
    /// any idle time skipped).
    func clock(_ now: UInt64) -> UInt64 {
        UInt64(max(0, Int64(bitPattern: simClock.simulated(now)) + clockOffsetMilliseconds))
    }

    /// Lamp-clock ms from `now` to what the lamp next does on its own: its program's next
    /// switch point or its override's end; nil when it has neither.
    func millisecondsToNextEvent(now: UInt64) -> UInt64? {
        var next = overrideUntil
        if mode == .program && nextProgramChange != .max {
            next = min(next ?? .max, UInt64(max(0, nextProgramChange)) * 1000)
        }
        let lampNow = clock(now)
        return next.map { $0 > lampNow ? $0 - lampNow : 0 }
    }

    /// Moves the lamp's clock `milliseconds` ahead, as if it had slept through them (SIGUSR2
    /// with a simulated clock). The caller makes sure no switch point or override end lies in
    /// between, so the lamp misses nothing.
    func skipClock(by milliseconds: UInt64) {
        clockOffsetMilliseconds += Int64(milliseconds)
    }

    /// Handles a request from the controller; returns the messages to send back.
    func handle(_ message: LampMessage, now: UInt64) -> [LampMessage] {
        if message.type.rawValue >= 0x20 {
            requestsReceived += 1
            let ref = message.bytes.withUnsafeBytes { LampMessage.referenceForNack($0) }
            if profile.busyEvery > 0 && requestsReceived % profile.busyEvery == 0 {
                return [.nack(Nack(ackedType: message.type, ref: ref, reason: .busy))]
            }
            if message.type == .programHeader || message.type == .programPage, !profile.programs || profile.minorVersion == 0 {
                // A lamp of minor 0 does not know these types; one without programs refuses them.
                return [.nack(Nack(ackedType: message.type, ref: ref, reason: profile.minorVersion == 0 ? .unknownType : .unsupported))]
            }
        }
        switch message {
        case .setLevel(let m) where !profile.dimmable && m.level.permille != 0 && m.level != .full:
            return [.nack(Nack(ackedType: .setLevel, ref: m.version, reason: .unsupported))]
        case .override(let m) where !profile.dimmable && m.level.permille != 0 && m.level != .full:
            return [.nack(Nack(ackedType: .override, ref: m.version, reason: .unsupported))]
        case .setLevel(let m):
            return control(m.version, type: .setLevel, now: now) {
                mode = .manual
                overrideUntil = nil
                move(to: m.level, fade: m.fade, now: now)
            }
        case .switch(let m):
            return control(m.version, type: .switch, now: now) {
                mode = .manual
                overrideUntil = nil
                move(to: m.on ? .full : .off, fade: m.fade, now: now)
            }
        case .override(let m):
            return control(m.version, type: .override, now: now) {
                mode = .override
                overrideUntil = clock(now) + UInt64(m.durationSeconds) * 1000
                move(to: m.level, fade: m.fade, now: now)
            }
        case .resumeProgram(let m):
            return control(m.version, type: .resumeProgram, now: now) {
                resumeProgram(fade: m.fade, now: now)
            }
        case .config(let m):
            if m.configVersion < configVersion {
                return [.nack(Nack(ackedType: .config, ref: m.configVersion, reason: .staleVersion))]
            }
            if m.configVersion > configVersion {
                configVersion = m.configVersion
                config = DesiredConfig(
                    version: m.configVersion, reportIntervalSeconds: m.reportIntervalSeconds, failSafeLevel: m.failSafeLevel,
                    powerOnLevel: m.powerOnLevel, minLevel: m.minLevel, maxLevel: m.maxLevel)
                reportIntervalMilliseconds = UInt64(m.reportIntervalSeconds) * 1000
                if mode == .failSafe { move(to: m.failSafeLevel, fade: .immediate, now: now) }
                // SPEC.md §7.1: a report after every applied config.
                return [.ack(Ack(ackedType: .config, ref: m.configVersion)), .statusReport(status(now: now))]
            }
            return [.ack(Ack(ackedType: .config, ref: m.configVersion))]
        case .programHeader, .programPage:
            return receiveProgram(message, now: now)
        case .identify(let m):
            return [.ack(Ack(ackedType: .identify, ref: m.ref))]
        case .reboot(let m):
            return [.ack(Ack(ackedType: .reboot, ref: m.ref))]
        case .rekey(let m):
            return rekey(m)
        case .ack(let ack) where ack.ackedType == .event:
            unackedEvents.removeAll { $0.sequence == ack.ref }
            return []
        default:
            return []
        }
    }

    /// SPEC.md §8.12: only over a link with tags; unwrap, keep (a real lamp: store durably),
    /// then ack; the same key again is acked again, an older generation refused.
    private func rekey(_ request: Rekey) -> [LampMessage] {
        guard let frames else { return [.nack(Nack(ackedType: .rekey, ref: request.ref, reason: .unexpected))] }
        let newKey = frames.unwrap(request)
        if request.generation <= keyGeneration {
            let again = request.generation == keyGeneration && newKey == key
            return [again ? .ack(Ack(ackedType: .rekey, ref: request.ref)) : .nack(Nack(ackedType: .rekey, ref: request.ref, reason: .staleVersion))]
        }
        key = newKey
        keyGeneration = request.generation
        return [.ack(Ack(ackedType: .rekey, ref: request.ref))]
    }

    /// SPEC.md §8.0: apply a newer version, re-acknowledge the same, refuse an older one.
    private func control(_ version: UInt32, type: MessageType, now: UInt64, apply: () -> Void) -> [LampMessage] {
        if version < appliedVersion {
            return [.nack(Nack(ackedType: type, ref: version, reason: .staleVersion))]
        }
        if version > appliedVersion {
            apply()
            appliedVersion = version
            appliedHistory.append(version)
            return [.ack(Ack(ackedType: type, ref: version)), .statusReport(status(now: now))]
        }
        return [.ack(Ack(ackedType: type, ref: version))]
    }

    /// Follow the program (or, with none, show the fail-safe level).
    private func resumeProgram(fade: FadeTime, now: UInt64) {
        overrideUntil = nil
        guard program != nil else {
            mode = .failSafe
            move(to: config.failSafeLevel, fade: fade, now: now)
            return
        }
        mode = .program
        programLevel = nil
        followProgram(now: now, fade: fade)
    }

    /// Shows the program's level for the lamp's clock; notes when it next changes.
    /// Returns whether the level changed.
    @discardableResult
    private func followProgram(now: UInt64, fade: FadeTime? = nil) -> Bool {
        guard mode == .program, let program else { return false }
        let seconds = Int64(clock(now) / 1000)
        let (level, point) = program.level(at: seconds)
        nextProgramChange = program.switchPoints(from: seconds + 1, to: seconds + 2 * 86_400).first?.instant ?? (seconds + 86_400)
        programHistory.append((seconds, level))
        if programHistory.count > 4096 { programHistory.removeFirst(1024) }
        guard level != programLevel else { return false }
        programLevel = level
        move(to: Level(permille: Int(level)) ?? .off, fade: fade ?? FadeTime(deciseconds: point?.fadeDeciseconds ?? 0), now: now)
        return true
    }

    /// A program frame (SPEC.md §8.10, §8.11): the answer.
    private func receiveProgram(_ message: LampMessage, now: UInt64) -> [LampMessage] {
        switch message {
        case .programHeader(let header):
            if header.revision < programRevision {
                return [.nack(Nack(ackedType: .programHeader, ref: header.revision, reason: .staleVersion))]
            }
            guard header.revision > programRevision else {
                return [.ack(Ack(ackedType: .programHeader, ref: header.revision))]
            }
            guard (try? PosixTimeZone(header.timeZone)) != nil else {
                return [.nack(Nack(ackedType: .programHeader, ref: header.revision, reason: .unsupported))]
            }
            transfer = (header, [])
            if header.entryCount == 0 {
                return install(ProgramFrames(header: header, pages: []), now: now, ackedType: .programHeader)
            }
            return [.ack(Ack(ackedType: .programHeader, ref: header.revision))]
        case .programPage(let page):
            if page.revision <= programRevision {
                return [.ack(Ack(ackedType: .programPage, ref: page.revision))]
            }
            // SPEC.md §8.11: the transfer's revision, in order, below pageCount, every page
            // full but the last, which carries the rest.
            guard var current = transfer, current.header.revision == page.revision, Int(page.page) == current.pages.count,
                page.page < current.header.pageCount,
                page.entries.count == (page.page + 1 < current.header.pageCount
                    ? ProgramPage.maximumEntries : Int(current.header.entryCount) - ProgramPage.maximumEntries * Int(page.page))
            else {
                return [.nack(Nack(ackedType: .programPage, ref: page.revision, reason: .unexpected))]
            }
            current.pages.append(page)
            transfer = current
            guard current.pages.count == Int(current.header.pageCount) else {
                return [.ack(Ack(ackedType: .programPage, ref: page.revision))]
            }
            return install(ProgramFrames(header: current.header, pages: current.pages), now: now, ackedType: .programPage)
        default:
            return []
        }
    }

    /// The last frame arrived: store and run the program, acknowledge, report.
    private func install(_ frames: ProgramFrames, now: UInt64, ackedType: MessageType) -> [LampMessage] {
        transfer = nil
        let revision = frames.revision
        if frames.header.entryCount == 0 {
            program = nil
        } else {
            guard let (definition, place) = try? frames.program() else {
                return [.nack(Nack(ackedType: ackedType, ref: revision, reason: .unsupported))]
            }
            program = ProgramEvaluator(program: definition, place: place)
        }
        programRevision = revision
        // A lamp without a program sits in fail-safe; with one it follows it.
        if mode == .program || mode == .failSafe {
            resumeProgram(fade: FadeTime(deciseconds: 20), now: now)
        }
        return [.ack(Ack(ackedType: ackedType, ref: revision)), .statusReport(status(now: now))]
    }

    /// The earliest real time ``tick(now:)`` or ``runLocally(now:)`` has anything to do.
    func nextDue(now: UInt64) -> UInt64 {
        var due = authenticated ? nextReportAt : .max
        let lampNow = clock(now)
        /// The real time at which the lamp's clock reads `lampTime` (ms).
        func realTime(_ lampTime: UInt64) -> UInt64 {
            now + simClock.realDuration(lampTime > lampNow ? lampTime - lampNow : 0)
        }
        if let until = overrideUntil {
            due = min(due, realTime(until))
        }
        if mode == .program && nextProgramChange != .max {
            due = min(due, realTime(UInt64(max(0, nextProgramChange)) * 1000))
        }
        if fadeEndUnreported { due = min(due, fadeStart + fadeMilliseconds) }
        if authenticated, case .cycling(let half) = electrical, let phase = cyclingPhase(at: now) {
            due = min(due, realTime((phase + 1) * max(1, half)))
        }
        return due
    }

    /// The lamp's own business, connected or not: override expiry and the program. Returns
    /// whether the light changed.
    @discardableResult
    func runLocally(now: UInt64) -> Bool {
        var changed = false
        if let until = overrideUntil, clock(now) >= until {
            resumeProgram(fade: FadeTime(deciseconds: 20), now: now)
            changed = true
        }
        if mode == .program, Int64(clock(now) / 1000) >= nextProgramChange {
            changed = followProgram(now: now) || changed
        }
        return changed
    }

    /// Time passed: override expiry, the program, the model, and whether a report is due.
    func tick(now: UInt64) -> [LampMessage] {
        var out: [LampMessage] = []
        if runLocally(now: now) {
            out.append(.statusReport(status(now: now)))
        }
        if fadeEndUnreported && now >= fadeStart + fadeMilliseconds {
            // Report the level reached, as a lamp reports every change.
            fadeEndUnreported = false
            if authenticated { out.append(.statusReport(status(now: now))) }
        }
        if authenticated, let phase = cyclingPhase(at: now), phase != reportedCyclingPhase {
            // A cycling lamp reports each switch, as a lamp reports every change (nothing
            // changes while it is told to be off).
            reportedCyclingPhase = phase
            if level(at: now) > 0 { out.append(.statusReport(status(now: now))) }
        }
        if authenticated && now >= nextReportAt {
            nextReportAt = now + reportIntervalMilliseconds
            out.append(.statusReport(status(now: now)))
        }
        return out
    }

    /// A lamp failure starts or ends: the event to send (kept until acknowledged).
    func toggleFailure(now: UInt64) -> LampEvent {
        updateModel(now: now)
        let raising = !faults.contains(.lampFailure)
        if raising { faults.insert(.lampFailure) } else { faults.remove(.lampFailure) }
        eventSequence &+= 1
        let event = LampEvent(
            sequence: eventSequence, kind: raising ? .faultRaised : .faultCleared, detail: 0,
            time: UInt32(clamping: clock(now) / 1000))
        unackedEvents.append(event)
        if unackedEvents.count > SimLamp.maximumUnackedEvents { unackedEvents.removeFirst() }
        return event
    }

    /// Events not yet acknowledged, to send again after a handshake.
    var pendingEvents: [LampEvent] { unackedEvents }

    /// The status report now.
    func status(now: UInt64) -> StatusReport {
        updateModel(now: now)
        let shown = faults.contains(.lampFailure) || cyclingDark(at: now) ? 0 : electrical == .stuckOn ? 1000 : level(at: now)
        let permille = Level(permille: Int(shown.rounded())) ?? .off
        if authenticated && firstReportedEnergyWattHours == nil { firstReportedEnergyWattHours = energyCounterWattHours }
        return StatusReport(
            appliedVersion: appliedVersion, level: permille, mode: mode, isLit: permille.isOn,
            isFading: fadeMilliseconds > 0 && now < fadeStart + fadeMilliseconds,
            powerDeciwatts: UInt16(clamping: Int((powerWatts(at: now) * 10).rounded())),
            energyWattHours: UInt32(clamping: Int(energyWattHours)), burnSeconds: UInt32(clamping: Int(burnSeconds)),
            faults: faults, temperatureCelsius: Int8(clamping: 15 + Int(shown / 50)), ambientLux: nil, programRevision: programRevision,
            clock: UInt32(clamping: clock(now) / 1000))
    }
}
