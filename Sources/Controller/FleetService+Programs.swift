import FleetCore
import Foundation
import LampProtocol
import LightingPrograms
import Logging
import OperatorAPI

extension FleetService {
    /// Every program.
    public func programs() async throws(FleetError) -> [ProgramView] {
        let records = try await storing("reading programs") { try await store.programs() }
        return records.map(programView)
    }

    /// One program.
    public func program(_ name: String) async throws(FleetError) -> ProgramView {
        guard let view = try await programs().first(where: { $0.name == name }) else {
            throw .notFound("no program \(name)", field: "name")
        }
        return view
    }

    func programView(_ record: ProgramRecord) -> ProgramView {
        ProgramView(
            name: record.name, revision: record.revision, source: record.source,
            entries: fleet.program(named: record.name)?.entries.count ?? 0, lamps: record.lampCount,
            timeZone: fleet.programDefaults.timeZone.text,
            updatedAt: Date(unixMilliseconds: record.updatedAtMilliseconds), updatedBy: record.updatedBy)
    }

    /// Creates or replaces a program from its file text; lamps that run it get the new
    /// revision. Errors name the line and field. Returns the view and whether it is new.
    public func saveProgram(_ name: String, _ request: ProgramSave, by caller: Caller) async throws(FleetError) -> (ProgramView, Bool) {
        guard GroupName.isValid(name) else { throw .invalid("must be 1 to 64 characters of A-Z a-z 0-9 . _ -", field: "name") }
        guard request.source.utf8.count <= 64 << 10 else { throw .invalid("is longer than 64 KiB", field: "source") }
        let program: LightingProgram
        do {
            program = try ProgramText.parse(request.source)
        } catch {
            throw FleetError(.invalid, "\(error)", field: "source")
        }
        let (isNew, revision) = try await mutations.exclusive { () async throws(FleetError) -> (Bool, UInt32) in
            let isNew = fleet.program(named: name) == nil
            let revision = try await nextProgramRevision()
            try await storing("storing the program") {
                try await store.saveProgram(
                    name, source: request.source, revision: revision,
                    audit: entry(
                        caller, isNew ? "program.create" : "program.change", target: "program:\(name)", detail: "revision \(revision)"))
            }
            gateway.deliver(fleet.withModel { $0.programChanged(name, program: program, revision: revision) })
            await cluster?.changedPrograms([name])
            return (isNew, revision)
        }
        logger.info("program saved", metadata: ["program.name": "\(name)", "program.revision": "\(revision)", "api.caller": "\(caller.name)"])
        return (try await self.program(name), isNew)
    }

    /// Deletes a program no lamp runs.
    public func deleteProgram(_ name: String, by caller: Caller) async throws(FleetError) {
        try await mutations.exclusive { () async throws(FleetError) in
            let deleted = try await storing("deleting the program") {
                try await store.deleteProgram(name, audit: entry(caller, "program.delete", target: "program:\(name)", detail: ""))
            }
            guard deleted else { throw .notFound("no program \(name)", field: "name") }
            fleet.withModel { $0.programDeleted(name) }
            await cluster?.changedPrograms([name])
        }
    }

    /// Assigns a program to a target's lamps: durable, then pushed as desired state.
    public func assignProgram(_ name: String, _ request: ProgramAssign, by caller: Caller) async throws(FleetError) -> ProgramAssigned {
        try await mutations.exclusive { () async throws(FleetError) -> ProgramAssigned in try await assign(name, request, by: caller) }
    }

    private func assign(_ name: String, _ request: ProgramAssign, by caller: Caller) async throws(FleetError) -> ProgramAssigned {
        guard let target = CommandTarget(request.target) else { throw .invalid("must be lamp:ID, group:NAME or all", field: "target") }
        let now = clock.nowMilliseconds()
        let (slots, held) = try fleet.withModel { model throws(FleetError) -> ([Int], Int) in
            guard model.program(named: name) != nil else { throw .notFound("no program \(name)", field: "name") }
            guard let slots = model.resolve(target), !slots.isEmpty else {
                throw .notFound("no lamp matches \(request.target)", field: "target")
            }
            let homeless = model.lampsWithoutPlace(slots)
            guard homeless.isEmpty else {
                throw FleetError(
                    .invalid,
                    "\(homeless.count == 1 ? "1 lamp has" : "\(homeless.count) lamps have") no location (e.g. \(homeless[0])): set one with 'lampctl lamps set ID --latitude LAT --longitude LON', or give lamplighterd a default with --latitude and --longitude (or the config file's latitude and longitude)",
                    field: "target")
            }
            let held = slots.filter { FleetService.modeName(model.lamps[$0].desired.control.intent, atMilliseconds: now) != "program" }.count
            return (slots, held)
        }
        let revision = try await nextProgramRevision()
        try await storing("storing the assignment") {
            try await store.assignProgram(
                name, target: target, revision: revision,
                audit: entry(caller, "program.assign", target: target.description, detail: "\(name) revision \(revision)"))
        }
        let changed = fleet.withModel { $0.assignProgram(name, to: slots, revision: revision) }
        gateway.deliver(changed)
        // The other controllers read these lamps' desired program back from the store.
        await cluster?.changed(fleet.withModel { model in slots.map { model.lamps[$0].record.id } })
        logger.info(
            "program assigned",
            metadata: ["program.name": "\(name)", "program.revision": "\(revision)", "command.target": "\(target)", "command.lamps": "\(changed.count)"])
        return ProgramAssigned(program: name, revision: revision, target: target.description, lamps: changed.count, heldByCommand: held)
    }
}

extension FleetService {
    /// One night of a program at a place, from local noon to the next local noon, as its lamps
    /// run it: the fleet's time-zone rule, the program's current revision. `date` is the
    /// evening's local date (default: the night under way now, so at 03:00 the one that began
    /// yesterday); the place defaults to `lamplighterd run --latitude --longitude`.
    /// A program's year ahead at a place (the daemon's default place unless given), for
    /// `wattage` watts or the registered wattages of the lamps it is assigned to. Months,
    /// nights and clock times are in `timeZone`, else the fleet's own (the rule its lamps
    /// run programs by; programs carry no zone of their own).
    public func forecast(
        _ name: String, year: Int, latitude: Double?, longitude: Double?, wattage: Double?, timeZone: PosixTimeZone? = nil
    ) async throws(FleetError) -> ProgramForecast {
        let view = try await program(name)
        guard let program = fleet.program(named: name) else { throw .notFound("no program \(name)", field: "name") }
        var place = try place(latitude: latitude, longitude: longitude)
        if let timeZone { place.timeZone = timeZone }
        let watts = wattage ?? fleet.withEntries { entries in
            entries.filter { !$0.removed && $0.desired.program.name == name }.reduce(0) { $0 + ($1.record.wattage ?? 0) }
        }
        guard watts > 0 else {
            throw .invalid("is required: no lamp running \(name) has a registered wattage", field: "wattage")
        }
        let months = ProgramEvaluator(program: program, place: place).forecast(year: year).map { month in
            ForecastMonth(
                month: month.month, litHours: Double(month.litSeconds) / 3600, energyKWh: watts * month.fullPowerSeconds / 3_600_000,
                fullPowerKWh: watts * Double(month.litSeconds) / 3_600_000)
        }
        let total = ForecastMonth(
            month: 0, litHours: months.reduce(0) { $0 + $1.litHours }, energyKWh: months.reduce(0) { $0 + $1.energyKWh },
            fullPowerKWh: months.reduce(0) { $0 + $1.fullPowerKWh })
        return ProgramForecast(
            program: name, year: year, latitude: place.latitude, longitude: place.longitude, timeZone: place.timeZone.text, wattage: watts,
            lamps: view.lamps, months: months, total: total)
    }

    /// The place asked for, or the daemon's default place; both coordinates or neither.
    func place(latitude: Double?, longitude: Double?) throws(FleetError) -> Place {
        if (latitude == nil) != (longitude == nil) {
            throw .invalid("give latitude and longitude together", field: latitude == nil ? "latitude" : "longitude")
        }
        let defaults = fleet.programDefaults
        guard let latitude = latitude ?? defaults.latitude, let longitude = longitude ?? defaults.longitude else {
            throw .invalid("is required: the daemon has no default place (lamplighterd run --latitude --longitude)", field: "latitude")
        }
        return Place(latitude: latitude, longitude: longitude, timeZone: defaults.timeZone)
    }

    public func preview(_ name: String, date: CivilDate?, latitude: Double?, longitude: Double?) async throws(FleetError) -> ProgramPreview {
        let view = try await program(name)
        guard let program = fleet.program(named: name) else { throw .notFound("no program \(name)", field: "name") }
        let place = try place(latitude: latitude, longitude: longitude)
        let (latitude, longitude, zone) = (place.latitude, place.longitude, place.timeZone)
        let evening =
            date
            ?? {
                let local = zone.local(Int64(clock.nowMilliseconds() / 1000))
                return local.secondsOfDay < 12 * 3600 ? local.date.adding(days: -1) : local.date
            }()
        let night = ProgramEvaluator(program: program, place: place).night(of: evening)
        /// Local `HH:MM` to the nearest minute, ` +1` after the evening's date.
        func clockTime(_ instant: Int64) -> String {
            let local = zone.local(instant + 30)
            let time = ProgramText.twoDigits(local.secondsOfDay / 3600) + ":" + ProgramText.twoDigits(local.secondsOfDay % 3600 / 60)
            return local.date == night.date ? time : time + " +1"
        }
        let sun = [("sunset", night.sunset), ("civil dusk", night.dusk), ("civil dawn", night.dawn), ("sunrise", night.sunrise)]
            .compactMap { event, crossing in
                crossing.instant.map { ProgramSunEvent(event: event, at: Date(timeIntervalSince1970: Double($0)), localTime: clockTime($0)) }
            }
        var polar: String?
        switch night.sunset {
        case .alwaysBelow: polar = "polar night"
        case .alwaysAbove: polar = "midnight sun"
        case .at: polar = nil
        }
        var level = night.levelAtNoon
        var points: [ProgramSwitchPoint] = []
        for point in night.points {
            points.append(
                ProgramSwitchPoint(
                    at: Date(timeIntervalSince1970: Double(point.instant)), localTime: clockTime(point.instant),
                    level: Double(point.level) / 10, fadeSeconds: Double(point.fadeDeciseconds) / 10,
                    trigger: ProgramText.trigger(program.entries[point.entry].trigger), change: ProgramText.change(from: level, to: point.level)))
            level = point.level
        }
        let start = zone.unix(evening, secondsOfDay: 12 * 3600)
        let end = zone.unix(evening.adding(days: 1), secondsOfDay: 12 * 3600)
        return ProgramPreview(
            program: name, revision: view.revision,
            date: "\(evening.year)-\(ProgramText.twoDigits(evening.month))-\(ProgramText.twoDigits(evening.day))",
            latitude: latitude, longitude: longitude, timeZone: zone.text, start: Date(timeIntervalSince1970: Double(start)),
            end: Date(timeIntervalSince1970: Double(end)), levelAtStart: Double(night.levelAtNoon) / 10, sun: sun, polar: polar,
            points: points, lamps: view.lamps)
    }
}
