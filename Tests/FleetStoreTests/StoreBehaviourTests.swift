import FleetCore
import Foundation
import LampProtocol
import Testing

/// What every store does, run on each backend (``Backend/tested``): SQLite, and PostgreSQL
/// when a server is given.
@Suite("Store behaviour on each backend")
struct StoreBehaviourTests {
    static func record(_ id: String, groups: [String] = []) -> LampRecord {
        LampRecord(id: LampID(id)!, name: "Lamp \(id)", latitude: 52.37, longitude: 4.89, wattage: 40, groups: groups)
    }

    static let audit = AuditRecord(atMilliseconds: 1, actor: "t", role: "admin", action: "webhook.create", target: "webhook", detail: "", outcome: "ok")

    @Test("registered lamps come back with the initial desired state; a duplicate id fails the whole batch", arguments: Backend.tested)
    func register(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try await database.open()
            try await store.addLamps([Self.record("a", groups: ["north", "north", "all-night"]), Self.record("b")], config: .initial, atMilliseconds: 1)
            let lamps = try await store.loadAll()
            #expect(lamps.map(\.record.id.value) == ["a", "b"])
            #expect(lamps[0].record.groups == ["all-night", "north"])
            #expect(lamps[0].desired == .initial)
            #expect(lamps[0].reported == nil)
            await #expect(throws: FleetError.self) {
                try await store.addLamps([Self.record("c"), Self.record("a")], config: .initial, atMilliseconds: 2)
            }
            // Twice in one batch is refused too.
            await #expect { try await store.addLamps([Self.record("d"), Self.record("d")], config: .initial, atMilliseconds: 2) } throws: {
                "\($0)".contains("lamp d is already registered")
            }
            #expect(try await store.loadAll().count == 2)
            #expect(try await store.groups().map(\.name) == ["all-night", "north"])
        }
    }

    @Test("a recorded command survives reopening; it reaches exactly its target; newer versions win", arguments: Backend.tested)
    func commandDurable(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try await database.open()
            try await store.addLamps(
                [Self.record("a", groups: ["north"]), Self.record("b"), Self.record("c", groups: ["north"])], config: .initial, atMilliseconds: 1)
            let override = DesiredControl(version: 7, intent: .override(Level(permille: 250)!, untilMilliseconds: 99_000), fade: FadeTime(deciseconds: 30))
            let id = try await store.recordCommand(
                target: .group("north"), control: override, action: .override(Level(permille: 250)!, seconds: 94, fade: FadeTime(deciseconds: 30)),
                audit: nil, atMilliseconds: 5)
            let older = DesiredControl(version: 6, intent: .switched(on: true), fade: .immediate)
            _ = try await store.recordCommand(target: .all, control: older, action: .switched(on: true, fade: .immediate), audit: nil, atMilliseconds: 6)
            let single = DesiredControl(version: 8, intent: .program, fade: .immediate)
            _ = try await store.recordCommand(target: .lamp(LampID("c")!), control: single, action: .resume(fade: .immediate), audit: nil, atMilliseconds: 7)

            let reopened = try await database.open()
            #expect(try await reopened.lamp(LampID("a")!)?.desired.control == override)
            #expect(try await reopened.lamp(LampID("b")!)?.desired.control == older)
            #expect(try await reopened.lamp(LampID("c")!)?.desired.control == single)
            let command = try #require(try await reopened.command(id))
            #expect(
                command.target == .group("north") && command.version == 7
                    && command.action == .override(Level(permille: 250)!, seconds: 94, fade: FadeTime(deciseconds: 30)))
            #expect(try await reopened.command(id + 10) == nil)
            #expect(try await reopened.highestControlVersion() == 8)
            #expect(try await reopened.fleetEpoch() == (try await store.fleetEpoch()))
        }
    }

    @Test("reported state and events are written in batches and read back; newest wins per lamp", arguments: Backend.tested)
    func reportedAndEvents(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try await database.open()
            try await store.addLamps([Self.record("a")], config: .initial, atMilliseconds: 1)
            let status = StatusReport(
                appliedVersion: 3, level: Level(permille: 300)!, mode: .manual, isLit: true, isFading: false, powerDeciwatts: 120,
                energyWattHours: 5, burnSeconds: 60, faults: [.lampFailure], temperatureCelsius: 20, ambientLux: nil,
                programRevision: 0, clock: 0)
            try await store.saveReported([
                ReportedRecord(
                    lampID: LampID("a")!, appliedVersion: 2, configVersion: 1, firmware: "0.9", status: nil,
                    reportedAtMilliseconds: 9, lastSeenMilliseconds: 9),
                ReportedRecord(
                    lampID: LampID("a")!, appliedVersion: 3, configVersion: 1, firmware: "1.0", status: status,
                    reportedAtMilliseconds: 10, lastSeenMilliseconds: 11),
                // A lamp that is not registered (removed meanwhile) is skipped, not an error.
                ReportedRecord(
                    lampID: LampID("ghost")!, appliedVersion: 1, configVersion: 1, firmware: nil, status: nil,
                    reportedAtMilliseconds: 10, lastSeenMilliseconds: 10),
            ])
            let reported = try #require(try await store.lamp(LampID("a")!)?.reported)
            #expect(reported.status == status && reported.appliedVersion == 3 && reported.lastSeenMilliseconds == 11 && reported.firmware == "1.0")
            // A record without a status keeps the stored one.
            try await store.saveReported([
                ReportedRecord(
                    lampID: LampID("a")!, appliedVersion: 4, configVersion: 1, firmware: nil, status: nil,
                    reportedAtMilliseconds: 20, lastSeenMilliseconds: 20)
            ])
            let later = try #require(try await store.lamp(LampID("a")!)?.reported)
            #expect(later.status == status && later.appliedVersion == 4 && later.firmware == nil)
            // Strings longer than Swift keeps inline, and UTF-8 beyond ASCII, are bound whole.
            let long = try #require(LampID("north-quarter-lamp-0001"))
            try await store.addLamps([Self.record(long.value)], config: .initial, atMilliseconds: 1)
            try await store.saveReported([
                ReportedRecord(
                    lampID: long, appliedVersion: 7, configVersion: 1, firmware: "2.0-β, built for the north quarter", status: status,
                    reportedAtMilliseconds: 30, lastSeenMilliseconds: 30)
            ])
            let longRow = try #require(try await store.lamp(long)?.reported)
            #expect(longRow.firmware == "2.0-β, built for the north quarter" && longRow.status == status && longRow.appliedVersion == 7)

            try await store.appendEvents([
                EventRecord(lampID: LampID("a")!, kind: "online", detail: "", atMilliseconds: 1),
                EventRecord(lampID: LampID("a")!, kind: "fault.raised", detail: "lampFailure", atMilliseconds: 2),
            ])
            let events = try await store.events(lampID: LampID("a")!, kind: nil, beforeID: nil, limit: 100)
            #expect(events.map(\.kind) == ["fault.raised", "online"])
            #expect(try await store.events(lampID: nil, kind: "online", beforeID: nil, limit: 100).count == 1)
            #expect(try await store.events(lampID: nil, kind: nil, beforeID: events[0].id, limit: 100).map(\.kind) == ["online"])
            #expect(try await store.prune(eventsBefore: 2, auditBefore: nil) == (1, 0))
        }
    }

    @Test("batches of every chunk size land row for row: reported state and energy of 85 lamps, unregistered ones skipped", arguments: Backend.tested)
    func chunkedBatches(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try await database.open()
            // 85 = 64 + 16 + 4 + 1: every statement size of the SQLite store's chunks.
            let ids = (0..<85).map { "lamp-\($0)" }
            try await store.addLamps(ids.map { Self.record($0) }, config: .initial, atMilliseconds: 1)
            func status(_ index: Int) -> StatusReport {
                StatusReport(
                    appliedVersion: UInt32(index), level: Level(permille: index * 10)!, mode: .manual, isLit: index % 2 == 0,
                    isFading: false, powerDeciwatts: UInt16(index), energyWattHours: UInt32(index * 7), burnSeconds: UInt32(index * 60),
                    faults: [], temperatureCelsius: 20, ambientLux: nil, programRevision: 0, clock: UInt32(index))
            }
            var batch = ids.enumerated().map { index, id in
                ReportedRecord(
                    lampID: LampID(id)!, appliedVersion: UInt32(index), configVersion: 1, firmware: index % 3 == 0 ? nil : "fw-\(index)",
                    status: index % 5 == 0 ? nil : status(index), reportedAtMilliseconds: UInt64(100 + index),
                    lastSeenMilliseconds: UInt64(200 + index))
            }
            batch.insert(ReportedRecord(lampID: LampID("ghost-1")!, appliedVersion: 1, configVersion: 1, firmware: nil, status: nil,
                reportedAtMilliseconds: 1, lastSeenMilliseconds: 1), at: 30)
            batch.append(ReportedRecord(lampID: LampID("ghost-2")!, appliedVersion: 1, configVersion: 1, firmware: "x", status: status(1),
                reportedAtMilliseconds: 1, lastSeenMilliseconds: 1))
            try await store.saveReported(batch)
            let lamps = try await store.loadAll()
            #expect(lamps.count == 85)
            for (index, id) in ids.enumerated() {
                let reported = try #require(lamps.first { $0.record.id.value == id }?.reported, "lamp \(id) has no reported state")
                #expect(reported.appliedVersion == UInt32(index) && reported.firmware == (index % 3 == 0 ? nil : "fw-\(index)"))
                #expect(reported.status == (index % 5 == 0 ? nil : status(index)), "lamp \(id)")
                #expect(reported.lastSeenMilliseconds == UInt64(200 + index))
            }

            // Energy: two hours of each lamp, then the same again and a new hour: every
            // lamp-day is added to, not replaced.
            let midnight = EnergyStoreTests.midnight
            func energy(_ offset: Int32, _ scale: Double) -> [EnergyHour] {
                ids.enumerated().map { index, id in
                    EnergyHour(lampID: LampID(id)!, hour: midnight + offset, usedWh: Double(index + 1) * scale, fullPowerWh: Double(index + 1) * 2 * scale, litSeconds: 60)
                }
            }
            try await store.addEnergy(energy(1, 1) + energy(2, 1) + [EnergyStoreTests.hour("ghost-1", 1, used: 5, full: 5, lit: 5)])
            try await store.addEnergy(energy(1, 1) + energy(3, 0.5))
            for (index, id) in ids.enumerated() {
                let hours = try await store.energy(target: .lamp(LampID(id)!), fromHour: midnight, toHour: midnight + 24, step: .hour)
                let used = Double(index + 1)
                #expect(hours.map(\.startHour) == [midnight + 1, midnight + 2, midnight + 3], "lamp \(id)")
                #expect(hours.map(\.usedWh) == [used * 2, used, used * 0.5], "lamp \(id)")
                #expect(hours.map(\.litSeconds) == [120, 60, 60], "lamp \(id)")
            }
            let day = try await store.energy(target: .all, fromHour: midnight, toHour: midnight + 24, step: .day)
            #expect(day.map(\.lamps) == [85] && day.map(\.usedWh) == [3.5 * Double(85 * 86 / 2)])
        }
    }

    @Test("a lamp's event is stored once per (lamp, sequence, lamp time): in one batch, across batches, after reopening", arguments: Backend.tested)
    func eventStoredOnce(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try await database.open()
            try await store.addLamps([Self.record("a"), Self.record("b")], config: .initial, atMilliseconds: 1)
            func event(_ lamp: String, sequence: UInt32, time: UInt32 = 1_700_000_000, at: UInt64 = 5) -> EventRecord {
                EventRecord(
                    lampID: LampID(lamp)!, kind: "fault.raised", detail: "lampFailure", atMilliseconds: at,
                    lampEvent: LampEventIdentity(sequence: sequence, lampTime: time))
            }
            #expect(try await store.appendEvents([event("a", sequence: 7), event("a", sequence: 7, at: 6)]) == [true, false])
            #expect(try await store.appendEvents([event("a", sequence: 7, at: 3005), event("b", sequence: 7)]) == [false, true])
            // Controller-made events have no identity and are never taken for duplicates.
            let online = EventRecord(lampID: LampID("a")!, kind: "online", detail: "", atMilliseconds: 9)
            #expect(try await store.appendEvents([online, online]) == [true, true])
            let reopened = try await database.open()
            #expect(try await reopened.appendEvents([event("a", sequence: 7, at: 99)]) == [false])
            // The same sequence with another lamp time is another event: a counter that wrapped
            // or started again.
            #expect(try await reopened.appendEvents([event("a", sequence: 7, time: 1_800_000_000)]) == [true])
            let stored = try await reopened.events(lampID: LampID("a")!, kind: "fault.raised", beforeID: nil, limit: 100)
            #expect(stored.count == 2)
            #expect(stored.last?.lampEvent == LampEventIdentity(sequence: 7, lampTime: 1_700_000_000) && stored.last?.atMilliseconds == 5)
        }
    }

    @Test("an idempotency key is durable with its command; a second use records nothing; it goes after 24 h", arguments: Backend.tested)
    func idempotencyKeyDurable(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try await database.open()
            try await store.addLamps([Self.record("a")], config: .initial, atMilliseconds: 1)
            let control = DesiredControl(version: 1, intent: .switched(on: true), fade: .immediate)
            let claim = IdempotencyClaim(caller: "ops", key: "k1", request: #"{"action":"on"}"#, lamps: 1)
            let first = try await store.recordCommand(
                target: .all, control: control, action: .switched(on: true, fade: .immediate), audit: nil, idempotency: claim, atMilliseconds: 10)
            #expect(first == .recorded(1))
            let reopened = try await database.open()
            let earlier = IdempotentCommand(commandID: 1, target: "all", lamps: 1, request: #"{"action":"on"}"#)
            #expect(try await reopened.idempotentCommand(caller: "ops", key: "k1", atMilliseconds: 20) == earlier)
            #expect(try await reopened.idempotentCommand(caller: "other", key: "k1", atMilliseconds: 20) == nil)
            let newer = DesiredControl(version: 2, intent: .switched(on: false), fade: .immediate)
            let second = try await reopened.recordCommand(
                target: .all, control: newer, action: .switched(on: false, fade: .immediate), audit: nil, idempotency: claim, atMilliseconds: 30)
            #expect(second == .replayed(earlier))
            #expect(try await reopened.command(2) == nil)
            #expect(try await reopened.lamp(LampID("a")!)?.desired.control == control)
            // A day later the key is gone: the same key records a new command.
            let dayLater = 10 + IdempotencyClaim.retentionMilliseconds + 1
            #expect(try await reopened.idempotentCommand(caller: "ops", key: "k1", atMilliseconds: dayLater) == nil)
            let third = try await reopened.recordCommand(
                target: .all, control: newer, action: .switched(on: false, fade: .immediate), audit: nil, idempotency: claim,
                atMilliseconds: dayLater)
            #expect(third == .recorded(2))
        }
    }

    @Test("tokens, groups, programs and key rotation keep their rules and audit entries", arguments: Backend.tested)
    func operators(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try await database.open()
            let audit = AuditRecord(atMilliseconds: 5, actor: "t", role: "admin", action: "x", target: "y", detail: "", outcome: "ok")
            try await store.createToken(TokenRecord(name: "root", role: "admin", hash: [1, 2, 3], createdAtMilliseconds: 1, createdBy: "t"), audit: audit)
            await #expect(throws: FleetError.self) {
                try await store.createToken(TokenRecord(name: "root", role: "viewer", hash: [4], createdAtMilliseconds: 1, createdBy: "t"), audit: audit)
            }
            #expect(try await store.token(hash: [1, 2, 3])?.name == "root")
            await #expect { _ = try await store.revokeToken(named: "root", audit: audit) } throws: { "\($0)".contains("last admin token") }
            #expect(try await store.revokeToken(named: "nobody", audit: audit) == false)

            try await store.addLamps([Self.record("a"), Self.record("b")], config: .initial, atMilliseconds: 1)
            try await store.createGroup("south", description: "river side", audit: audit)
            await #expect(throws: FleetError.self) { try await store.createGroup("south", description: nil, audit: audit) }
            await #expect { try await store.changeMembers(of: "south", add: [LampID("a")!, LampID("zz")!], remove: [], audit: audit) } throws: {
                "\($0)".contains("no lamp zz")
            }
            try await store.changeMembers(of: "south", add: [LampID("a")!, LampID("b")!], remove: [], audit: audit)
            try await store.changeMembers(of: "south", add: [], remove: [LampID("b")!], audit: audit)
            #expect(try await store.groups().map(\.lampCount) == [1])

            try await store.saveProgram("night", source: "on at sunset", revision: 3, audit: audit)
            try await store.assignProgram("night", target: .group("south"), revision: 4, audit: audit)
            #expect(try await store.programs().map(\.lampCount) == [1])
            await #expect { _ = try await store.deleteProgram("night", audit: audit) } throws: { "\($0)".contains("assigned to 1 lamps") }
            #expect(try await store.highestProgramRevision() == 4)

            #expect(try await store.requestRekey([LampID("a")!, LampID("zz")!], audit: audit) == [LampID("a")!: 1])
            #expect(try await store.completeRekey(LampID("a")!, generation: 2, audit: audit) == false)
            #expect(try await store.completeRekey(LampID("a")!, generation: 1, audit: audit))
            let pending = try await store.rotateMaster(from: "m0", audit: audit)
            #expect(pending == [LampID("a")!: 2, LampID("b")!: 1])
            #expect(try await store.retireMasters(["m0"], audit: audit) == 2)
            #expect(try await store.setRevoked(LampID("b")!, true, audit: audit))
            #expect(try await store.lamp(LampID("b")!)?.record.revoked == true)
            #expect(try await store.setReportInterval(90, atMilliseconds: 9) == 2)
            #expect(try await store.setReportInterval(90, atMilliseconds: 9) == 0)
            #expect(try await store.removeLamp(LampID("b")!, audit: audit))
            #expect(try await store.removeLamp(LampID("b")!, audit: audit) == false)
            let entries = try await store.audit(actor: "t", action: nil, beforeID: nil, limit: 100).count
            #expect(entries == 11, "\(entries)")
        }
    }

    // MARK: Energy

    @Test("energy batches add up per lamp and hour; totals per hour, day and month, per lamp, group and fleet", arguments: Backend.tested)
    func energyTotals(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try await database.open()
            let midnight = EnergyStoreTests.midnight
            try await store.addLamps([Self.record("a", groups: ["north"]), Self.record("b")], config: .initial, atMilliseconds: 1)
            try await store.addEnergy([EnergyStoreTests.hour("a", 1, used: 10, full: 20, lit: 1800), EnergyStoreTests.hour("b", 1, used: 4, full: 4, lit: 360)])
            // A second batch adds to the same hour; an unregistered lamp is skipped.
            try await store.addEnergy([
                EnergyStoreTests.hour("a", 1, used: 2.5, full: 5, lit: 600), EnergyStoreTests.hour("ghost", 1, used: 99, full: 99, lit: 1),
            ])
            try await store.addEnergy([EnergyStoreTests.hour("a", 30, used: 1, full: 2, lit: 60)])
            let hours = try await store.energy(target: .all, fromHour: midnight, toHour: midnight + 48, step: .hour)
            #expect(hours.map(\.startHour) == [midnight + 1, midnight + 30])
            #expect(hours.first == EnergyTotal(startHour: midnight + 1, usedWh: 16.5, fullPowerWh: 29, litSeconds: 2760, lamps: 2))
            let days = try await store.energy(target: .all, fromHour: midnight, toHour: midnight + 48, step: .day)
            #expect(days.map(\.startHour) == [midnight, midnight + 24])
            #expect(days.map(\.usedWh) == [16.5, 1])
            let month = try await store.energy(target: .all, fromHour: midnight - 1000, toHour: midnight + 1000, step: .month)
            // November and December 2026 (UTC): 1 November is 29 days before the 30th.
            #expect(month.map(\.startHour) == [midnight - 29 * 24, midnight + 24])
            #expect(try await store.energy(target: .group("north"), fromHour: 0, toHour: .max, step: .day).map(\.usedWh) == [12.5, 1])
            #expect(try await store.energy(target: .lamp(LampID("b")!), fromHour: 0, toHour: .max, step: .day).map(\.lamps) == [1])
            // The range's end is not included.
            #expect(try await store.energy(target: .all, fromHour: midnight + 2, toHour: midnight + 30, step: .hour).isEmpty)
        }
    }

    @Test("energy pruning deletes hours before the retention, inside a day too; removing a lamp removes its energy", arguments: Backend.tested)
    func energyPruneAndRemove(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try await database.open()
            let midnight = EnergyStoreTests.midnight
            try await store.addLamps([Self.record("a"), Self.record("b")], config: .initial, atMilliseconds: 1)
            try await store.addEnergy([
                EnergyStoreTests.hour("a", 0, used: 1, full: 1, lit: 1), EnergyStoreTests.hour("a", 5, used: 2, full: 2, lit: 2),
                EnergyStoreTests.hour("b", 5, used: 3, full: 3, lit: 3),
            ])
            #expect(try await store.pruneEnergy(before: midnight + 5) == 1)
            #expect(try await store.energy(target: .all, fromHour: 0, toHour: .max, step: .hour).map(\.usedWh) == [5])
            let audit = AuditRecord(atMilliseconds: 2, actor: "t", role: "admin", action: "lamp.remove", target: "b", detail: "", outcome: "ok")
            #expect(try await store.removeLamp(LampID("b")!, audit: audit))
            #expect(try await store.energy(target: .all, fromHour: 0, toHour: .max, step: .hour).map(\.usedWh) == [2])
            #expect(try await store.pruneEnergy(before: midnight + 48) == 1)
            #expect(try await store.energy(target: .all, fromHour: 0, toHour: .max, step: .hour).isEmpty)
        }
    }

    // MARK: Incidents

    @Test("a lamp's cabinet is stored at registration, changed by an update and read back", arguments: Backend.tested)
    func cabinet(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try await database.open()
            var record = Self.record("a")
            record.cabinet = "C-7"
            try await store.addLamps([record, Self.record("b")], config: .initial, atMilliseconds: 1)
            #expect(try await store.loadAll().map(\.record.cabinet) == ["C-7", nil])
            record.cabinet = "C-8"
            let audit = AuditRecord(atMilliseconds: 2, actor: "t", role: "admin", action: "lamps.update", target: "lamp:a", detail: "cabinet C-8", outcome: "ok")
            #expect(try await store.updateLamp(record, programRevision: nil, audit: audit))
            #expect(try await database.open().lamp(record.id)?.record.cabinet == "C-8")
        }
    }

    @Test("incidents are stored as they change, filtered, and the unresolved ones come back after reopening", arguments: Backend.tested)
    func incidents(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try await database.open()
            var book = IncidentBook()
            let lamp = LampID("a")!
            let failure = book.apply(FaultChange(kind: .lampFailure, raised: true, detail: "0 W"), to: .lamp(lamp), atMilliseconds: 10)!
            let cabinet = book.apply(FaultChange(kind: .cabinetPowerLost, raised: true, detail: "8 of 10"), to: .cabinet("C-7"), atMilliseconds: 11)!
            try await store.saveIncidents([failure, cabinet], audit: nil)
            let acked = book.acknowledge(failure.id, by: "night-shift", atMilliseconds: 12)!
            let audit = AuditRecord(
                atMilliseconds: 12, actor: "night-shift", role: "operator", action: "incident.acknowledge", target: "incident:1", detail: "", outcome: "ok")
            try await store.saveIncidents([acked], audit: audit)
            let cleared = book.apply(FaultChange(kind: .cabinetPowerLost, raised: false), to: .cabinet("C-7"), atMilliseconds: 13)!
            try await store.saveIncidents([cleared], audit: nil)

            #expect(try await store.incidents(state: nil, kind: nil, lamp: nil, cabinet: nil, limit: 100).map(\.id) == [2, 1])
            #expect(try await store.incidents(state: .resolved, kind: nil, lamp: nil, cabinet: nil, limit: 100) == [cleared])
            #expect(try await store.incidents(state: nil, kind: .lampFailure, lamp: lamp, cabinet: nil, limit: 100) == [acked])
            #expect(try await store.incidents(state: nil, kind: nil, lamp: nil, cabinet: "C-7", limit: 100).first?.resolvedBy == IncidentRecord.clearedByLamp)
            #expect(try await store.incident(1) == acked)
            #expect(try await store.incident(3) == nil)
            #expect(try await store.audit(actor: nil, action: "incident.acknowledge", beforeID: nil, limit: 100).count == 1)
            let reopened = try await database.open().unresolvedIncidents()
            #expect(reopened.incidents == [acked])
            #expect(reopened.highestID == 2)
        }
    }

    // MARK: Webhooks

    static func hook(_ store: any WebhookStoring) async throws -> WebhookRecord {
        try await store.addWebhook(
            WebhookRecord(id: 0, url: "http://127.0.0.1:9/", secret: "s", events: ["*"], targets: ["all"], createdAtMilliseconds: 1, createdBy: "t"),
            maximum: 32, audit: audit)
    }

    @Test("only the first pending delivery of each (webhook, lamp) is due; a retry holds back that lamp's later ones", arguments: Backend.tested)
    func deliveryOrderPerLamp(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try await database.open()
            let hook = try await Self.hook(store)
            let batch = ["a", "b", "a", "b", "a"].enumerated().map { index, lamp in
                NewDelivery(webhookID: hook.id, lamp: lamp, type: "lamp.online", event: "{\"type\":\"lamp.online\"}", atMilliseconds: UInt64(10 + index))
            }
            #expect(try await store.enqueueDeliveries(batch, capacity: 100).isEmpty)
            var due = try await store.dueDeliveries(atMilliseconds: 100, limit: 10)
            #expect(due.map(\.lamp) == ["a", "b"] && due.map(\.id) == [1, 2])
            // a's first fails and waits until 200: a is held, b goes on.
            var failed = due[0]
            failed.attempts = 1
            failed.nextAttemptMilliseconds = 200
            failed.lastStatus = 503
            try await store.saveAttempt(failed)
            var done = due[1]
            done.state = .delivered
            done.attempts = 1
            try await store.saveAttempt(done)
            due = try await store.dueDeliveries(atMilliseconds: 100, limit: 10)
            #expect(due.map(\.id) == [4], "\(due)")
            due = try await database.open().dueDeliveries(atMilliseconds: 200, limit: 10)
            #expect(due.map(\.id) == [1, 4])
            #expect(due.first?.lastStatus == 503)
            #expect(try await store.outboxDepths() == [hook.id: 4])
            // Given up: a's next one goes.
            failed.state = .failed
            try await store.saveAttempt(failed)
            #expect(try await store.dueDeliveries(atMilliseconds: 200, limit: 10).map(\.id) == [3, 4])
            let replayed = try await store.replayDelivery(1, webhook: hook.id, atMilliseconds: 300, audit: Self.audit)
            #expect(replayed?.state == .pending && replayed?.attempts == 0)
            #expect(try await store.replayDelivery(99, webhook: hook.id, atMilliseconds: 300, audit: Self.audit) == nil)
        }
    }

    @Test("a full outbox refuses new deliveries for that webhook only, and says how many", arguments: Backend.tested)
    func outboxCapacity(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try await database.open()
            let full = try await Self.hook(store)
            let other = try await Self.hook(store)
            let batch = (0..<5).flatMap { index in
                [full.id, other.id].map { NewDelivery(webhookID: $0, lamp: "a", type: "lamp.online", event: "{}", atMilliseconds: UInt64(index)) }
            }
            #expect(try await store.enqueueDeliveries(Array(batch.prefix(6)), capacity: 3) == [:])
            #expect(try await store.enqueueDeliveries(Array(batch.dropFirst(6)), capacity: 3) == [full.id: 2, other.id: 2])
            #expect(try await store.outboxDepths() == [full.id: 3, other.id: 3])
            // Deleting a webhook drops its outbox; deliveries for it are skipped.
            #expect(try await store.deleteWebhook(full.id, audit: Self.audit))
            #expect(try await store.enqueueDeliveries(Array(batch.prefix(1)), capacity: 3) == [:])
            #expect(try await store.outboxDepths() == [other.id: 3])
            #expect(try await store.deliveries(webhook: full.id, limit: 10).isEmpty)
        }
    }

    @Test("ended deliveries are pruned after the retention; pending ones stay", arguments: Backend.tested)
    func deliveryPrune(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try await database.open()
            let hook = try await Self.hook(store)
            let batch = ["a", "b", "c"].map { NewDelivery(webhookID: hook.id, lamp: $0, type: "lamp.online", event: "{}", atMilliseconds: 1) }
            _ = try await store.enqueueDeliveries(batch, capacity: 10)
            var due = try await store.dueDeliveries(atMilliseconds: 10, limit: 10)
            due[0].state = .delivered
            due[0].finishedAtMilliseconds = 100
            due[1].state = .failed
            due[1].finishedAtMilliseconds = 300
            try await store.saveAttempt(due[0])
            try await store.saveAttempt(due[1])
            #expect(try await store.pruneDeliveries(endedBefore: 200) == 1)
            #expect(try await store.pruneDeliveries(endedBefore: 1000) == 1)
            #expect(try await store.deliveries(webhook: hook.id, limit: 10).map(\.state) == [.pending])
        }
    }

    @Test("at most `maximum` webhooks", arguments: Backend.tested)
    func webhookMaximum(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try await database.open()
            let record = WebhookRecord(id: 0, url: "http://x/", secret: "s", events: ["*"], targets: ["all"], createdAtMilliseconds: 1, createdBy: "t")
            _ = try await store.addWebhook(record, maximum: 2, audit: Self.audit)
            _ = try await store.addWebhook(record, maximum: 2, audit: Self.audit)
            await #expect(throws: FleetError.self) { _ = try await store.addWebhook(record, maximum: 2, audit: Self.audit) }
            #expect(try await store.webhooks().map(\.events) == [["*"], ["*"]])
        }
    }
}
