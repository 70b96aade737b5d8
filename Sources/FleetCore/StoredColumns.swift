import LampProtocol
import LightingPrograms

/// Why stored data could not be read back, or a store operation was refused for a reason
/// that is not the caller's (those are ``FleetError``). Shared by both stores.
public struct FleetStoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in words.
    public let description: String

    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}

/// A lamp's desired state as the columns of its `desired_state` row, in both stores: the
/// one mapping between ``DesiredState`` and what SQLite and PostgreSQL keep.
public struct DesiredColumns: Sendable, Hashable {
    public var controlVersion: Int64
    /// `program`, `level`, `on`, `off` or `override`.
    public var intent: String
    /// Permille, for `level` and `override`.
    public var level: Int64?
    /// Unix ms, for `override`.
    public var overrideUntil: Int64?
    /// Deciseconds.
    public var fade: Int64
    public var configVersion: Int64
    public var reportInterval: Int64
    public var failSafeLevel: Int64
    public var powerOnLevel: Int64
    public var minLevel: Int64
    public var maxLevel: Int64
    public var programName: String?
    public var programRevision: Int64

    /// Columns read back from a row.
    public init(
        controlVersion: Int64, intent: String, level: Int64?, overrideUntil: Int64?, fade: Int64, configVersion: Int64,
        reportInterval: Int64, failSafeLevel: Int64, powerOnLevel: Int64, minLevel: Int64, maxLevel: Int64, programName: String?,
        programRevision: Int64
    ) {
        self.controlVersion = controlVersion
        self.intent = intent
        self.level = level
        self.overrideUntil = overrideUntil
        self.fade = fade
        self.configVersion = configVersion
        self.reportInterval = reportInterval
        self.failSafeLevel = failSafeLevel
        self.powerOnLevel = powerOnLevel
        self.minLevel = minLevel
        self.maxLevel = maxLevel
        self.programName = programName
        self.programRevision = programRevision
    }

    /// The columns of `desired` (its program's name and revision included).
    public init(_ desired: DesiredState) {
        let intent = Self.intentColumns(desired.control.intent)
        let config = desired.config
        self.init(
            controlVersion: Int64(desired.control.version), intent: intent.name, level: intent.level, overrideUntil: intent.until,
            fade: Int64(desired.control.fade.deciseconds), configVersion: Int64(config.version),
            reportInterval: Int64(config.reportIntervalSeconds), failSafeLevel: Int64(config.failSafeLevel.permille),
            powerOnLevel: Int64(config.powerOnLevel.permille), minLevel: Int64(config.minLevel.permille),
            maxLevel: Int64(config.maxLevel.permille), programName: desired.program.name, programRevision: Int64(desired.program.revision))
    }

    /// The `intent`, `level` and `override_until` columns of an intent.
    public static func intentColumns(_ intent: ControlIntent) -> (name: String, level: Int64?, until: Int64?) {
        switch intent {
        case .program: ("program", nil, nil)
        case .level(let level): ("level", Int64(level.permille), nil)
        case .switched(let on): (on ? "on" : "off", nil, nil)
        case .override(let level, let until): ("override", Int64(level.permille), Int64(clamping: until))
        }
    }

    /// The desired state these columns hold for lamp `id`; a stored value out of range is an
    /// error naming the lamp and the column. The program's frames are left nil: whoever
    /// knows the program and the lamp's place builds them.
    public func desiredState(of id: LampID) throws -> DesiredState {
        func level(_ value: Int64?, _ column: String) throws -> Level {
            guard let value, let level = Level(permille: Int(clamping: value)) else {
                throw FleetStoreError("lamp \(id): stored \(column) \(value.map(String.init) ?? "NULL") is not a level")
            }
            return level
        }
        let control: ControlIntent
        switch intent {
        case "program": control = .program
        case "level": control = .level(try level(self.level, "level"))
        case "on": control = .switched(on: true)
        case "off": control = .switched(on: false)
        case "override": control = .override(try level(self.level, "level"), untilMilliseconds: UInt64(clamping: overrideUntil ?? 0))
        default: throw FleetStoreError("lamp \(id): stored intent \(intent) is unknown")
        }
        return DesiredState(
            control: DesiredControl(
                version: UInt32(clamping: controlVersion), intent: control, fade: FadeTime(deciseconds: UInt8(clamping: fade))),
            config: DesiredConfig(
                version: UInt32(clamping: configVersion), reportIntervalSeconds: UInt16(clamping: reportInterval),
                failSafeLevel: try level(failSafeLevel, "fail_safe_level"), powerOnLevel: try level(powerOnLevel, "power_on_level"),
                minLevel: try level(minLevel, "min_level"), maxLevel: try level(maxLevel, "max_level")),
            program: DesiredProgram(revision: UInt32(clamping: programRevision), name: programName, frames: nil))
    }
}

extension ReportedRecord {
    /// The `status` column: the status report as its frame bytes (nil: none reported).
    public var statusColumn: [UInt8]? { status.map { LampMessage.statusReport($0).bytes } }

    /// The status report of a stored `status` column; bytes that no longer decode read as
    /// none (a newer report replaces them).
    public static func status(fromColumn bytes: [UInt8]?) -> StatusReport? {
        guard let bytes, case .statusReport(let report)? = try? LampMessage.decode(bytes) else { return nil }
        return report
    }
}

extension IncidentRecord {
    /// An incident read back from its columns; an unknown kind or state, or neither a lamp
    /// nor a cabinet, is an error naming the incident.
    public init(
        storedID id: Int64, kind kindText: String, lamp: String?, cabinet: String?, openedAt: Int64, state stateText: String,
        acknowledgedBy: String?, acknowledgedAt: Int64?, resolvedBy: String?, resolvedAt: Int64?, detail: String
    ) throws {
        guard let kind = FaultKind(rawValue: kindText), let state = IncidentState(rawValue: stateText) else {
            throw FleetStoreError("stored incident \(id) has kind '\(kindText)', state '\(stateText)'")
        }
        let subject: IncidentSubject
        if let lamp, let lampID = LampID(lamp) {
            subject = .lamp(lampID)
        } else if let cabinet {
            subject = .cabinet(cabinet)
        } else {
            throw FleetStoreError("stored incident \(id) names neither a lamp nor a cabinet")
        }
        self.init(
            id: id, kind: kind, subject: subject, openedAtMilliseconds: UInt64(clamping: openedAt), state: state,
            acknowledgedBy: acknowledgedBy, acknowledgedAtMilliseconds: acknowledgedAt.map { UInt64(clamping: $0) },
            resolvedBy: resolvedBy, resolvedAtMilliseconds: resolvedAt.map { UInt64(clamping: $0) }, detail: detail)
    }

    /// The `lamp_id` and `cabinet` columns of its subject.
    public var subjectColumns: (lamp: String?, cabinet: String?) {
        switch subject {
        case .lamp(let id): (id.value, nil)
        case .cabinet(let name): (nil, name)
        }
    }
}

extension DeliveryRecord {
    /// A delivery read back from its columns; an unknown state is an error naming it.
    public init(
        storedID id: Int64, webhookID: Int64, lamp: String, type: String, event: String, createdAt: Int64, state stateText: String,
        attempts: Int, nextAttemptAt: Int64, lastStatus: Int?, lastError: String?, finishedAt: Int64?
    ) throws {
        guard let state = DeliveryState(rawValue: stateText) else { throw FleetStoreError("stored delivery \(id) has state '\(stateText)'") }
        self.init(
            id: id, webhookID: webhookID, lamp: lamp, type: type, event: event, createdAtMilliseconds: UInt64(clamping: createdAt),
            state: state, attempts: attempts, nextAttemptMilliseconds: UInt64(clamping: nextAttemptAt), lastStatus: lastStatus,
            lastError: lastError, finishedAtMilliseconds: finishedAt.map { UInt64(clamping: $0) })
    }
}

extension WebhookRecord {
    /// The `events` and `targets` columns: comma-separated.
    public static func listColumn(_ values: [String]) -> String { values.joined(separator: ",") }

    /// A list column read back.
    public static func list(fromColumn text: String) -> [String] { text.split(separator: ",").map(String.init) }
}

/// The SELECT of lamps with desired and reported state that both stores read (then a WHERE
/// and ORDER BY of their own); the columns ``DesiredColumns`` maps, by name.
public let storedLampSelectSQL = """
    SELECT lamp.id, lamp.name, lamp.latitude, lamp.longitude, lamp.wattage, lamp.cabinet, lamp.revoked_at,
           lamp.key_generation, lamp.key_pending, lamp.key_master, lamp.key_pending_master,
           d.control_version, d.intent, d.level, d.override_until, d.fade, d.config_version,
           d.report_interval, d.fail_safe_level, d.power_on_level, d.min_level, d.max_level,
           d.program_name, d.program_revision,
           r.applied_version, r.config_version AS r_config_version, r.firmware, r.status,
           r.reported_at, r.last_seen
    FROM lamp JOIN desired_state d ON d.lamp_id = lamp.id
    LEFT JOIN reported_state r ON r.lamp_id = lamp.id
    """

/// The energy arithmetic both stores share: packing a batch into lamp-days, and summing
/// stored days into steps.
public enum EnergyColumns {
    /// UTC day of an hour (floor division, hours before 1970 included).
    public static func day(ofHour hour: Int32) -> Int64 {
        let hour = Int64(hour)
        return hour >= 0 ? hour / 24 : (hour - 23) / 24
    }

    /// The first hour of the step holding `hour` (UTC calendar months for `.month`).
    public static func stepStart(hour: Int64, step: EnergyStep) -> Int64 {
        switch step {
        case .hour:
            return hour
        case .day:
            return hour >= 0 ? hour / 24 * 24 : (hour - 23) / 24 * 24
        case .month:
            let day = hour >= 0 ? hour / 24 : (hour - 23) / 24
            return (day - Int64(CivilDate(daysSinceEpoch: Int(day)).day - 1)) * 24
        }
    }

    /// A batch's hours packed per lamp and day (used and full-power as whole mWh, lit as
    /// whole seconds), each lamp-day once, in the order first seen.
    public static func pack(_ batch: [EnergyHour]) -> [(lamp: LampID, day: Int64, hours: EnergyDay)] {
        struct Key: Hashable {
            var lamp: LampID
            var day: Int64
        }
        var order: [Key] = []
        var days: [Key: EnergyDay] = [:]
        for bucket in batch {
            let day = Self.day(ofHour: bucket.hour)
            let key = Key(lamp: bucket.lampID, day: day)
            let values = EnergyDay.Hour(
                used: Int64((bucket.usedWh * 1000).rounded()), full: Int64((bucket.fullPowerWh * 1000).rounded()),
                lit: Int64(bucket.litSeconds.rounded()))
            if days[key] == nil { order.append(key) }
            days[key, default: EnergyDay()].add(values, at: Int(Int64(bucket.hour) - day * 24))
        }
        // Present: every key was given a day above.
        return order.map { ($0.lamp, $0.day, days[$0]!) }
    }

    /// A stored day read back; damaged bytes are an error naming the lamp's row and the day.
    public static func storedDay(lamp: Int64, day: Int64, packed: [UInt8]) throws -> EnergyDay {
        do {
            return try EnergyDay(encoded: packed)
        } catch {
            throw FleetStoreError("energy of lamp row \(lamp), day \(day) is damaged: \(error)")
        }
    }

    /// A stored day less its hours before `hour` (0 to 23): how many hours went, and the day
    /// that is left (empty: delete the row).
    public static func removeHours(before hour: Int, lamp: Int64, day: Int64, packed: [UInt8]) throws -> (removed: Int, left: EnergyDay) {
        var energyDay = try storedDay(lamp: lamp, day: day, packed: packed)
        let removed = energyDay.removeHours(before: hour)
        return (removed, energyDay)
    }

    /// Sums stored lamp-days into steps of `fromHour..<toHour`. Feed it rows lamp by lamp
    /// (ordered by lamp, then day), then read ``totals``.
    public struct Summer: Sendable {
        /// A step's sums; `lastLamp` counts each lamp once (rows come lamp by lamp).
        struct Sum {
            var used: Int64 = 0
            var full: Int64 = 0
            var lit: Int64 = 0
            var lamps = 0
            var lastLamp: Int64 = .min
        }
        let fromHour: Int32
        let toHour: Int32
        let step: EnergyStep
        var sums: [Int64: Sum] = [:]

        /// A summer of the hours `fromHour..<toHour` per `step`.
        public init(fromHour: Int32, toHour: Int32, step: EnergyStep) {
            self.fromHour = fromHour
            self.toHour = toHour
            self.step = step
        }

        /// Adds one stored row: lamp `lamp` (the store's number for it), day `day`, the packed
        /// `hours`; damaged bytes are an error naming the row.
        public mutating func add(lamp: Int64, day: Int64, packed: [UInt8]) throws {
            let energyDay = try EnergyColumns.storedDay(lamp: lamp, day: day, packed: packed)
            for offset in 0..<EnergyDay.hoursPerDay {
                guard let values = energyDay[hour: offset] else { continue }
                let hour = day * 24 + Int64(offset)
                guard hour >= Int64(fromHour), hour < Int64(toHour) else { continue }
                let start = EnergyColumns.stepStart(hour: hour, step: step)
                var sum = sums[start, default: Sum()]
                sum.used = EnergyDay.saturatingSum(sum.used, values.used)
                sum.full = EnergyDay.saturatingSum(sum.full, values.full)
                sum.lit = EnergyDay.saturatingSum(sum.lit, values.lit)
                if sum.lastLamp != lamp {
                    sum.lastLamp = lamp
                    sum.lamps += 1
                }
                sums[start] = sum
            }
        }

        /// The steps with energy, oldest first.
        public var totals: [EnergyTotal] {
            sums.keys.sorted().map { start in
                // Present: the keys are the dictionary's own.
                let sum = sums[start]!
                return EnergyTotal(
                    startHour: Int32(clamping: start), usedWh: Double(sum.used) / 1000, fullPowerWh: Double(sum.full) / 1000,
                    litSeconds: Double(sum.lit), lamps: sum.lamps)
            }
        }
    }
}
