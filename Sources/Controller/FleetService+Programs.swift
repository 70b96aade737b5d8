import FleetCore
import FleetStore
import Foundation
import LampProtocol
import LightingPrograms
import Logging
import OperatorAPI

extension FleetService {
    /// Every program.
    public func programs() throws(APIFailure) -> [ProgramView] {
        do {
            return try store.programs().map(programView)
        } catch {
            throw APIFailure(status: 500, APIError(error: "reading programs failed: \(error)"))
        }
    }

    /// One program, or 404.
    public func program(_ name: String) throws(APIFailure) -> ProgramView {
        guard let view = try programs().first(where: { $0.name == name }) else {
            throw APIFailure(status: 404, APIError(error: "no program \(name)", field: "name"))
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
    public func saveProgram(_ name: String, _ request: ProgramSave, by caller: Caller) throws(APIFailure) -> (ProgramView, Bool) {
        guard GroupName.isValid(name) else { throw .badRequest("must be 1 to 64 characters of A-Z a-z 0-9 . _ -", field: "name") }
        guard request.source.utf8.count <= 64 << 10 else { throw .badRequest("is longer than 64 KiB", field: "source") }
        let program: LightingProgram
        do {
            program = try ProgramText.parse(request.source)
        } catch {
            throw APIFailure(status: 400, APIError(error: "\(error)", field: "source"))
        }
        let isNew = fleet.program(named: name) == nil
        let revision = fleet.nextVersion()
        do {
            try store.saveProgram(
                name, source: request.source, revision: revision,
                audit: entry(caller, isNew ? "program.create" : "program.change", target: "program:\(name)", detail: "revision \(revision)"))
        } catch {
            throw APIFailure(status: 500, APIError(error: "storing the program failed: \(error)"))
        }
        gateway.deliver(fleet.programChanged(name, program: program, revision: revision))
        logger.info("program saved", metadata: ["program.name": "\(name)", "program.revision": "\(revision)", "api.caller": "\(caller.name)"])
        return (try self.program(name), isNew)
    }

    /// Deletes a program no lamp runs.
    public func deleteProgram(_ name: String, by caller: Caller) throws(APIFailure) {
        let deleted: Bool
        do {
            deleted = try store.deleteProgram(name, audit: entry(caller, "program.delete", target: "program:\(name)", detail: ""))
        } catch let error as FleetStoreError {
            throw APIFailure(status: 409, APIError(error: error.description, field: "name"))
        } catch {
            throw APIFailure(status: 500, APIError(error: "deleting the program failed: \(error)"))
        }
        guard deleted else { throw APIFailure(status: 404, APIError(error: "no program \(name)", field: "name")) }
        fleet.programDeleted(name)
    }

    /// Assigns a program to a target's lamps: durable, then pushed as desired state.
    public func assignProgram(_ name: String, _ request: ProgramAssign, by caller: Caller) throws(APIFailure) -> ProgramAssigned {
        guard fleet.program(named: name) != nil else { throw APIFailure(status: 404, APIError(error: "no program \(name)", field: "name")) }
        guard let target = CommandTarget(request.target) else { throw .badRequest("must be lamp:ID, group:NAME or all", field: "target") }
        guard let slots = fleet.resolve(target), !slots.isEmpty else {
            throw APIFailure(status: 404, APIError(error: "no lamp matches \(request.target)", field: "target"))
        }
        let homeless = fleet.lampsWithoutPlace(slots)
        guard homeless.isEmpty else {
            throw APIFailure(
                status: 400,
                APIError(
                    error: "\(homeless.count) lamps have no location (e.g. \(homeless[0])): register latitude and longitude, or start lamplighterd with --latitude and --longitude",
                    field: "target"))
        }
        let revision = fleet.nextVersion()
        do {
            try store.assignProgram(
                name, target: target, revision: revision,
                audit: entry(caller, "program.assign", target: target.description, detail: "\(name) revision \(revision)"))
        } catch {
            throw APIFailure(status: 500, APIError(error: "storing the assignment failed: \(error)"))
        }
        let changed = fleet.assignProgram(name, to: slots, revision: revision)
        gateway.deliver(changed)
        logger.info(
            "program assigned",
            metadata: ["program.name": "\(name)", "program.revision": "\(revision)", "command.target": "\(target)", "command.lamps": "\(changed.count)"])
        return ProgramAssigned(program: name, revision: revision, target: target.description, lamps: changed.count)
    }
}
