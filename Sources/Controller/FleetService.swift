import FleetCore
import FleetStore
import Foundation
import LampProtocol
import LightingPrograms
import Logging
import Metrics
import OperatorAPI
import Synchronization

/// The operator's view of the fleet: registration, commands, progress, lamp views. The HTTP
/// API is a thin layer over this.
public final class FleetService: Sendable {
    let store: FleetStore
    let fleet: FleetState
    let gateway: LampGateway
    let logger: Logger
    private let recentCommands = Mutex<[Int64: (record: CommandRecord, slots: [Int])]>([:])
    /// Commands kept in memory for progress queries; older ones are read from the store.
    static let recentCommandLimit = 64

    /// A service over `fleet`, persisting to `store`, delivering through `gateway`.
    public init(store: FleetStore, fleet: FleetState, gateway: LampGateway, logger: Logger) {
        self.store = store
        self.fleet = fleet
        self.gateway = gateway
        self.logger = logger
    }

    // MARK: Registration

    /// Registers lamps (durably), all or none, and audits it.
    public func register(_ registrations: [LampRegistration], by caller: Caller) throws(APIFailure) -> [LampView] {
        do {
            let views = try register(registrations)
            let target = views.count == 1 ? "lamp:\(views[0].id)" : "\(views.count) lamps"
            audit(caller, "lamps.register", target: target, detail: views.prefix(5).map(\.id).joined(separator: ", "), outcome: "ok")
            return views
        } catch {
            audit(caller, "lamps.register", target: "\(registrations.count) lamps", detail: "", outcome: "refused: \(error.body.error)")
            throw error
        }
    }

    /// Registers lamps (durably), all or none.
    public func register(_ registrations: [LampRegistration]) throws(APIFailure) -> [LampView] {
        let records = try registrations.enumerated().map { (index, registration) throws(APIFailure) in
            try FleetService.record(from: registration, index: registrations.count > 1 ? index : nil)
        }
        do {
            var config = DesiredConfig.initial
            config.reportIntervalSeconds = gateway.shared.configuration.reportIntervalSeconds
            try store.addLamps(records, config: config, atMilliseconds: WallClock.nowMilliseconds())
            let stored = try records.compactMap { try store.lamp($0.id) }
            fleet.add(stored)
        } catch let error as FleetStoreError {
            throw APIFailure(status: 409, APIError(error: error.description, field: "id"))
        } catch {
            throw APIFailure(status: 500, APIError(error: "storing the lamps failed: \(error)"))
        }
        return records.compactMap { lampView($0.id) }
    }

    static func record(from registration: LampRegistration, index: Int?) throws(APIFailure) -> LampRecord {
        let prefix = index.map { "[\($0)]." } ?? ""
        guard let id = LampID(registration.id) else {
            throw .badRequest("must be 1 to 32 characters of A-Z a-z 0-9 . _ -", field: prefix + "id")
        }
        for group in registration.groups ?? [] where !GroupName.isValid(group) {
            throw .badRequest("group names are 1 to 64 characters of A-Z a-z 0-9 . _ -", field: prefix + "groups")
        }
        if let latitude = registration.latitude, !(-90...90).contains(latitude) {
            throw .badRequest("must be between -90 and 90", field: prefix + "latitude")
        }
        if let longitude = registration.longitude, !(-180...180).contains(longitude) {
            throw .badRequest("must be between -180 and 180", field: prefix + "longitude")
        }
        if let wattage = registration.wattage, !(0...6553).contains(wattage) {
            throw .badRequest("must be between 0 and 6553 watts", field: prefix + "wattage")
        }
        if let name = registration.name, name.count > 200 {
            throw .badRequest("must be at most 200 characters", field: prefix + "name")
        }
        return LampRecord(
            id: id, name: registration.name, latitude: registration.latitude, longitude: registration.longitude,
            wattage: registration.wattage, groups: registration.groups ?? [])
    }

    // MARK: Commands

    /// What a command does: change the desired state, or act once on the lamps online now.
    enum CommandKind {
        case desired(ControlIntent, FadeTime)
        case identify(seconds: UInt16)
        case reboot
    }

    /// Validates a command, makes it durable (with its audit entry), then sends it. Returns
    /// once it is durable. A refused command is audited too.
    public func command(_ request: CommandRequest, by caller: Caller) async throws(APIFailure) -> CommandAccepted {
        do {
            return try await acceptCommand(request, by: caller)
        } catch {
            audit(caller, "command", target: request.target, detail: request.action, outcome: "refused: \(error.body.error)")
            throw error
        }
    }

    private func acceptCommand(_ request: CommandRequest, by caller: Caller) async throws(APIFailure) -> CommandAccepted {
        let (target, kind, description) = try parse(request)
        guard let slots = fleet.resolve(target) else {
            throw APIFailure(status: 404, APIError(error: "no lamp \(request.target.dropFirst(5)) is registered", field: "target"))
        }
        if case .group(let name) = target, slots.isEmpty {
            throw APIFailure(status: 404, APIError(error: "no lamp is in group \(name)", field: "target"))
        }
        let now = WallClock.nowMilliseconds()
        var control: DesiredControl?
        if case .desired(let intent, let fade) = kind {
            control = DesiredControl(version: fleet.nextVersion(), intent: intent, fade: fade)
        }
        let id: Int64
        let clock = ContinuousClock()
        let storeStart = clock.now
        var auditEntry = entry(caller, "command", target: target.description, detail: description)
        auditEntry.atMilliseconds = now
        do {
            id = try await store.recordCommand(target: target, control: control, action: description, audit: auditEntry, atMilliseconds: now)
        } catch {
            logger.error("storing a command failed", metadata: ["error": "\(error)"])
            throw APIFailure(status: 500, APIError(error: "the command could not be stored: \(error)"))
        }
        let storeDuration = clock.now - storeStart
        gateway.metrics.storeCommandWrite.record(duration: storeDuration)
        let ref = UInt32(truncatingIfNeeded: id)
        switch kind {
        case .desired:
            if let control { gateway.deliver(fleet.commit(slots, control: control, atMilliseconds: now)) }
        case .identify(let seconds):
            // Identify(ref:durationSeconds:) is nil only outside 1...600, which parse() refused.
            if let message = Identify(ref: ref, durationSeconds: seconds) {
                gateway.sendOnce(slots, .identify(message), ref: ref)
            }
        case .reboot:
            gateway.sendOnce(slots, .reboot(Reboot(ref: ref)), ref: ref)
        }
        let record = CommandRecord(
            id: id, target: target, action: description, version: control?.version ?? 0, createdAtMilliseconds: now)
        recentCommands.withLock { recent in
            recent[id] = (record, slots)
            if recent.count > FleetService.recentCommandLimit, let oldest = recent.keys.min() {
                recent[oldest] = nil
            }
        }
        logger.info(
            "command accepted",
            metadata: [
                "command.id": "\(id)", "command.target": "\(target)", "command.action": "\(description)",
                "command.lamps": "\(slots.count)", "command.version": "\(control?.version ?? 0)",
                "store.duration": "\(storeDuration)", "api.caller": "\(caller.name)",
            ])
        followForStream(id, target: target)
        return CommandAccepted(id: id, target: target.description, lamps: slots.count)
    }

    func parse(_ request: CommandRequest) throws(APIFailure) -> (CommandTarget, CommandKind, String) {
        guard let target = CommandTarget(request.target) else {
            throw .badRequest("must be lamp:ID, group:NAME or all", field: "target")
        }
        let fade = try FleetService.fade(request.fadeSeconds)
        let fadeText = " fade \(fade)"
        switch request.action {
        case "level":
            let level = try FleetService.level(request.level, required: true)
            return (target, .desired(.level(level), fade), "level \(level)" + fadeText)
        case "on":
            return (target, .desired(.switched(on: true), fade), "on" + fadeText)
        case "off":
            return (target, .desired(.switched(on: false), fade), "off" + fadeText)
        case "override":
            let level = try FleetService.level(request.level, required: true)
            guard let duration = request.durationSeconds else {
                throw .badRequest("is required for override", field: "durationSeconds")
            }
            guard duration >= 1 && duration <= Int(LampProtocolLimits.maximumOverrideSeconds) else {
                throw .badRequest("must be between 1 and 2592000 seconds (30 days)", field: "durationSeconds")
            }
            let until = WallClock.nowMilliseconds() + UInt64(duration) * 1000
            return (
                target, .desired(.override(level, untilMilliseconds: until), fade),
                "override \(level) for \(duration)s" + fadeText
            )
        case "resume":
            return (target, .desired(.program, fade), "resume" + fadeText)
        case "identify":
            let seconds = request.durationSeconds ?? 10
            guard seconds >= 1 && seconds <= Int(LampProtocolLimits.maximumIdentifySeconds) else {
                throw .badRequest("must be between 1 and 600 seconds for identify", field: "durationSeconds")
            }
            return (target, .identify(seconds: UInt16(seconds)), "identify for \(seconds)s")
        case "reboot":
            return (target, .reboot, "reboot")
        default:
            throw .badRequest("must be one of level, on, off, override, resume, identify, reboot", field: "action")
        }
    }

    static func level(_ percent: Double?, required: Bool) throws(APIFailure) -> Level {
        guard let percent else { throw .badRequest("is required for this action", field: "level") }
        let tenths = (percent * 10).rounded()
        guard percent.isFinite, percent >= 0, percent <= 100, abs(percent * 10 - tenths) < 1e-6,
            let level = Level(permille: Int(tenths))
        else {
            throw .badRequest("must be a percentage from 0 to 100 in steps of 0.1", field: "level")
        }
        return level
    }

    static func fade(_ seconds: Double?) throws(APIFailure) -> FadeTime {
        guard let seconds else { return .immediate }
        let tenths = (seconds * 10).rounded()
        guard seconds.isFinite, seconds >= 0, seconds <= 25.5, abs(seconds * 10 - tenths) < 1e-6 else {
            throw .badRequest("must be from 0 to 25.5 seconds in steps of 0.1", field: "fadeSeconds")
        }
        return FadeTime(deciseconds: UInt8(tenths))
    }

    /// How far a command has got, or nil if there is no such command.
    public func progress(_ id: Int64) throws(APIFailure) -> CommandProgress? {
        var recent = recentCommands.withLock { $0[id] }
        if recent == nil {
            do {
                // An older command: its lamps are the target's lamps now.
                recent = try store.command(id).map { ($0, fleet.resolve($0.target) ?? []) }
            } catch {
                throw APIFailure(status: 500, APIError(error: "reading the command failed: \(error)"))
            }
        }
        guard let (record, slots) = recent else { return nil }
        let version = record.version
        if version == 0 {
            return onceProgress(record, slots: slots)
        }
        return fleet.withEntries { table in
            var applied = 0
            var failed: [String] = []
            var offline = 0
            var latencies: [UInt64] = []
            for slot in slots {
                let entry = table[slot]
                if entry.appliedVersion >= version {
                    applied += 1
                    if entry.appliedVersion == version && entry.appliedAtMilliseconds >= record.createdAtMilliseconds {
                        latencies.append(entry.appliedAtMilliseconds - record.createdAtMilliseconds)
                    }
                } else if let refused = entry.refused, refused.version == version {
                    failed.append(entry.record.id.value)
                } else if !entry.online {
                    offline += 1
                }
            }
            let total = slots.count
            return CommandProgress(
                id: record.id, target: record.target.description, action: record.action,
                createdAt: Date(unixMilliseconds: record.createdAtMilliseconds), total: total,
                applied: applied, failed: failed.count, pending: total - applied - failed.count, offline: offline,
                failedLamps: Array(failed.sorted().prefix(100)), appliedLatency: LatencySummary(milliseconds: latencies))
        }
    }

    // MARK: Views

    /// The controller's live counters.
    public func stats() -> StatsView {
        let counters = gateway.counters
        return StatsView(
            lampsRegistered: fleet.count, lampsOnline: gateway.linkedLamps,
            pendingHandshakes: counters.pendingHandshakes.load(ordering: .relaxed),
            handshakesAccepted: counters.handshakesAccepted.load(ordering: .relaxed),
            handshakesRefused: counters.handshakesRefused.load(ordering: .relaxed),
            linksReplaced: counters.linksReplaced.load(ordering: .relaxed),
            linksClosedMalformed: counters.linksClosedMalformed.load(ordering: .relaxed),
            messagesIn: counters.messagesIn.load(ordering: .relaxed), messagesOut: counters.messagesOut.load(ordering: .relaxed),
            streamSubscribers: gateway.hub.subscriberCount, streamSubscribersDropped: gateway.hub.droppedCount)
    }

    /// One lamp, or nil; with its newest events when `recentEvents` > 0.
    public func lampView(_ id: LampID, recentEvents: Int = 0) -> LampView? {
        guard var view = fleet.entry(id).map(viewWithExpectation) else { return nil }
        if recentEvents > 0 {
            view.recentEvents = try? events(lamp: id, limit: recentEvents)
        }
        return view
    }

    /// A page of lamps, filtered by group, desired mode, online state and whether the lamp
    /// reports a fault, sorted by id.
    public func lampPage(
        group: String? = nil, mode: String? = nil, online: Bool? = nil, fault: Bool? = nil, offset: Int, limit: Int
    ) -> LampPage {
        let now = WallClock.nowMilliseconds()
        return fleet.withEntries { table in
            let matching = table.filter { entry in
                (group.map { entry.record.groups.contains($0) } ?? true) && (online.map { entry.online == $0 } ?? true)
                    && (mode.map { FleetService.modeName(entry.desired.control.intent, atMilliseconds: now) == $0 } ?? true)
                    && (fault.map { (entry.status.map { $0.faults.rawValue != 0 } ?? false) == $0 } ?? true)
            }.sorted { $0.record.id < $1.record.id }
            let page = matching.dropFirst(offset).prefix(limit).map(FleetService.view)
            return LampPage(lamps: Array(page), total: matching.count, offset: offset, limit: limit)
        }
    }

    /// Newest events first.
    public func events(lamp: LampID?, kind: String? = nil, before: Int64? = nil, limit: Int) throws(APIFailure) -> [EventView] {
        do {
            return try store.events(lampID: lamp, kind: kind, beforeID: before, limit: limit).map {
                EventView(
                    id: $0.id ?? 0, lamp: $0.lampID.value, kind: $0.kind, detail: $0.detail,
                    at: Date(unixMilliseconds: $0.atMilliseconds))
            }
        } catch {
            throw APIFailure(status: 500, APIError(error: "reading events failed: \(error)"))
        }
    }

    /// The desired mode's name; an override that has run out is the program again.
    static func modeName(_ intent: ControlIntent, atMilliseconds now: UInt64) -> String {
        switch intent {
        case .program: "program"
        case .level: "level"
        case .switched(let on): on ? "on" : "off"
        case .override(_, let until): until > now ? "override" : "program"
        }
    }

    /// One lamp's view with what its program expects now (computed per call: for single
    /// lamps, not pages, so a page of 10,000 lamps does not run 10,000 evaluations).
    func viewWithExpectation(_ entry: LampEntry) -> LampView {
        var view = FleetService.view(entry)
        let now = WallClock.nowMilliseconds()
        if entry.desired.control.intent.level(atMilliseconds: now) == nil {
            view.expectedLevel = fleet.programEvaluator(for: entry).map { Double($0.level(at: Int64(now / 1000)).level) / 10 }
        }
        return view
    }

    static func view(_ entry: LampEntry) -> LampView {
        let desired = entry.desired.control
        let mode = modeName(desired.intent, atMilliseconds: WallClock.nowMilliseconds())
        var level: Double?
        var until: Date?
        switch desired.intent {
        case .program, .switched: break
        case .level(let value):
            level = percent(value)
        case .override(let value, let end):
            level = percent(value)
            until = Date(unixMilliseconds: end)
        }
        var reported = entry.status.map { status in
            ReportedView(
                appliedVersion: entry.appliedVersion, level: percent(status.level), mode: status.mode.description,
                lit: status.isLit, powerWatts: Double(status.powerDeciwatts) / 10, energyWattHours: status.energyWattHours,
                burnHours: (Double(status.burnSeconds) / 3600 * 10).rounded() / 10, faults: FaultNames.names(status.faults),
                temperatureCelsius: status.temperatureCelsius.map { Int($0) }, ambientLux: status.ambientLux.map { Int($0) },
                firmware: entry.firmware, reportedAt: Date(unixMilliseconds: entry.reportedAtMilliseconds))
        }
        reported?.lampClock = entry.status.map { Date(timeIntervalSince1970: Double($0.clock)) }
        return LampView(
            id: entry.record.id.value, name: entry.record.name, groups: entry.record.groups, latitude: entry.record.latitude,
            longitude: entry.record.longitude, wattage: entry.record.wattage, online: entry.online,
            lastSeen: entry.lastSeenMilliseconds == 0 ? nil : Date(unixMilliseconds: entry.lastSeenMilliseconds),
            desired: DesiredView(
                version: desired.version, mode: mode, level: level, overrideUntil: until,
                fadeSeconds: Double(desired.fade.deciseconds) / 10),
            reported: reported, converged: entry.appliedVersion >= desired.version, program: entry.desired.program.name,
            programRevision: entry.appliedProgramRevision)
    }

    static func percent(_ level: Level) -> Double {
        Double(level.permille) / 10
    }
}

/// A refused API request: the HTTP status and the body that says why.
public struct APIFailure: Error, Sendable {
    /// HTTP status code.
    public let status: Int
    /// The body.
    public let body: APIError

    /// A failure.
    public init(status: Int, _ body: APIError) {
        self.status = status
        self.body = body
    }

    /// 400 with a message about one field.
    public static func badRequest(_ message: String, field: String) -> APIFailure {
        APIFailure(status: 400, APIError(error: "\(field) \(message)", field: field))
    }
}
