import FleetCore
import FleetStore
import Foundation
import LampAuth
import LampProtocol
import Logging
import OperatorAPI

extension FleetService {
    // MARK: Audit

    /// Appends an audit entry on its own (commands and the store's own changes write theirs
    /// in the same transaction as the change). A failure is logged, not thrown: the action
    /// it records has already happened or been refused.
    func audit(_ caller: Caller, _ action: String, target: String, detail: String, outcome: String) {
        do {
            try store.appendAudit(entry(caller, action, target: target, detail: detail, outcome: outcome))
        } catch {
            logger.error("writing the audit log failed", metadata: ["error": "\(error)", "audit.action": "\(action)"])
        }
    }

    func entry(_ caller: Caller, _ action: String, target: String, detail: String, outcome: String = "ok") -> AuditRecord {
        FleetService.entry(caller, action, target: target, detail: detail, outcome: outcome)
    }

    /// An audit entry by `caller`, now.
    public static func entry(_ caller: Caller, _ action: String, target: String, detail: String, outcome: String = "ok") -> AuditRecord {
        AuditRecord(
            atMilliseconds: WallClock.nowMilliseconds(), actor: caller.name, role: caller.role.rawValue, action: action,
            target: target, detail: detail, outcome: outcome)
    }

    /// A request refused for its role: recorded, since it says someone tried.
    public func denied(_ caller: Caller, method: String, path: String) {
        audit(caller, "denied", target: path, detail: method, outcome: "refused: role \(caller.role.rawValue)")
    }

    /// The audit log, newest first.
    public func auditLog(actor: String?, action: String?, before: Int64?, limit: Int) throws(APIFailure) -> [AuditView] {
        do {
            return try store.audit(actor: actor, action: action, beforeID: before, limit: limit).map {
                AuditView(
                    id: $0.id ?? 0, at: Date(unixMilliseconds: $0.atMilliseconds), actor: $0.actor, role: $0.role,
                    action: $0.action, target: $0.target, detail: $0.detail, outcome: $0.outcome)
            }
        } catch {
            throw APIFailure(status: 500, APIError(error: "reading the audit log failed: \(error)"))
        }
    }

    // MARK: Tokens

    /// Makes a token; its text is in the answer and nowhere else.
    public func createToken(_ request: TokenCreate, by caller: Caller) throws(APIFailure) -> TokenCreated {
        try FleetService.issueToken(request, store: store, by: caller)
    }

    /// Makes a token in `store` (the API and `lamplighterd token create` both come here).
    public static func issueToken(_ request: TokenCreate, store: FleetStore, by caller: Caller) throws(APIFailure) -> TokenCreated {
        guard GroupName.isValid(request.name) else {
            throw .badRequest("must be 1 to 64 characters of A-Z a-z 0-9 . _ -", field: "name")
        }
        guard let role = Role(rawValue: request.role) else {
            throw .badRequest("must be viewer, operator or admin", field: "role")
        }
        let token = APIToken.generate()
        let now = WallClock.nowMilliseconds()
        let record = TokenRecord(
            name: request.name, role: role.rawValue, hash: APIToken.hash(token), createdAtMilliseconds: now, createdBy: caller.name)
        do {
            try store.createToken(record, audit: entry(caller, "token.create", target: request.name, detail: "role \(role.rawValue)"))
        } catch let error as FleetStoreError {
            throw APIFailure(status: 409, APIError(error: error.description, field: "name"))
        } catch {
            throw APIFailure(status: 500, APIError(error: "storing the token failed: \(error)"))
        }
        return TokenCreated(view: view(record), token: token)
    }

    /// Every token (names and roles, never the tokens).
    public func tokens() throws(APIFailure) -> [TokenView] {
        do {
            return try store.tokens().map(FleetService.view)
        } catch {
            throw APIFailure(status: 500, APIError(error: "reading tokens failed: \(error)"))
        }
    }

    /// Revokes a token at once: its next request gets 401.
    public func revokeToken(_ name: String, by caller: Caller) throws(APIFailure) {
        let revoked: Bool
        do {
            revoked = try store.revokeToken(named: name, audit: entry(caller, "token.revoke", target: name, detail: ""))
        } catch {
            throw APIFailure(status: 500, APIError(error: "revoking the token failed: \(error)"))
        }
        guard revoked else { throw APIFailure(status: 404, APIError(error: "no token named \(name)", field: "name")) }
    }

    static func view(_ record: TokenRecord) -> TokenView {
        TokenView(
            name: record.name, role: record.role, createdAt: Date(unixMilliseconds: record.createdAtMilliseconds),
            createdBy: record.createdBy)
    }

    // MARK: Groups

    /// Every group with its size.
    public func groups() throws(APIFailure) -> [GroupView] {
        do {
            return try store.groups().map(FleetService.view)
        } catch {
            throw APIFailure(status: 500, APIError(error: "reading groups failed: \(error)"))
        }
    }

    /// One group, or 404.
    public func group(_ name: String) throws(APIFailure) -> GroupView {
        guard let group = try groups().first(where: { $0.name == name }) else {
            throw APIFailure(status: 404, APIError(error: "no group \(name)", field: "name"))
        }
        return group
    }

    /// Creates an empty group.
    public func createGroup(_ request: GroupCreate, by caller: Caller) throws(APIFailure) -> GroupView {
        guard GroupName.isValid(request.name) else {
            throw .badRequest("must be 1 to 64 characters of A-Z a-z 0-9 . _ -", field: "name")
        }
        if let description = request.description, description.count > 200 {
            throw .badRequest("must be at most 200 characters", field: "description")
        }
        do {
            try store.createGroup(
                request.name, description: request.description,
                audit: entry(caller, "group.create", target: "group:\(request.name)", detail: request.description ?? ""))
        } catch let error as FleetStoreError {
            throw APIFailure(status: 409, APIError(error: error.description, field: "name"))
        } catch {
            throw APIFailure(status: 500, APIError(error: "storing the group failed: \(error)"))
        }
        return try group(request.name)
    }

    /// Deletes a group: its lamps stay, without it.
    public func deleteGroup(_ name: String, by caller: Caller) throws(APIFailure) {
        let deleted: Bool
        do {
            deleted = try store.deleteGroup(name, audit: entry(caller, "group.delete", target: "group:\(name)", detail: ""))
        } catch {
            throw APIFailure(status: 500, APIError(error: "deleting the group failed: \(error)"))
        }
        guard deleted else { throw APIFailure(status: 404, APIError(error: "no group \(name)", field: "name")) }
        fleet.removeGroup(name)
    }

    /// Adds and removes members, all or nothing.
    public func changeMembers(of name: String, _ change: GroupMembersChange, by caller: Caller) throws(APIFailure) -> GroupView {
        func ids(_ texts: [String]?, field: String) throws(APIFailure) -> [LampID] {
            var out: [LampID] = []
            for (index, text) in (texts ?? []).enumerated() {
                guard let id = LampID(text) else { throw .badRequest("is not a lamp id", field: "\(field)[\(index)]") }
                out.append(id)
            }
            return out
        }
        let add = try ids(change.add, field: "add")
        let remove = try ids(change.remove, field: "remove")
        guard !add.isEmpty || !remove.isEmpty else { throw .badRequest("or remove must list at least one lamp", field: "add") }
        _ = try group(name)
        for id in add + remove where fleet.entry(id) == nil {
            throw APIFailure(status: 404, APIError(error: "no lamp \(id) is registered", field: "add"))
        }
        do {
            try store.changeMembers(
                of: name, add: add, remove: remove,
                audit: entry(caller, "group.members", target: "group:\(name)", detail: "added \(add.count), removed \(remove.count)"))
        } catch let error as FleetStoreError {
            throw APIFailure(status: 404, APIError(error: error.description))
        } catch {
            throw APIFailure(status: 500, APIError(error: "changing the group failed: \(error)"))
        }
        fleet.changeMembers(of: name, add: add, remove: remove)
        return try group(name)
    }

    static func view(_ record: GroupRecord) -> GroupView {
        GroupView(
            name: record.name, description: record.description, lamps: record.lampCount,
            createdAt: Date(unixMilliseconds: record.createdAtMilliseconds))
    }

    // MARK: Identify and reboot

    /// Progress of a one-off request: lamps offline when it was sent count as failed, since
    /// they will never get it.
    func onceProgress(_ record: CommandRecord, slots: [Int]) -> CommandProgress {
        let tracking = gateway.shared.once.tracking(UInt32(truncatingIfNeeded: record.id))
        let createdAt = Date(unixMilliseconds: record.createdAtMilliseconds)
        guard let tracking else {
            // Sent before this run of the daemon: nothing is known.
            return CommandProgress(
                id: record.id, target: record.target.description, action: record.action, createdAt: createdAt, total: slots.count,
                applied: 0, failed: 0, pending: slots.count, offline: 0, failedLamps: [], appliedLatency: nil)
        }
        let failedSlots = slots.filter { !tracking.sent.contains($0) || tracking.refused.contains($0) }
        let failedLamps = fleet.withEntries { table in failedSlots.prefix(100).map { table[$0].record.id.value } }
        let applied = tracking.acknowledged.count
        return CommandProgress(
            id: record.id, target: record.target.description, action: record.action, createdAt: createdAt, total: slots.count,
            applied: applied, failed: failedSlots.count, pending: slots.count - applied - failedSlots.count, offline: 0,
            failedLamps: failedLamps.sorted(), appliedLatency: nil)
    }

    // MARK: The stream's command events

    /// While anyone watches, publishes `command.progress` as lamps apply the command (at
    /// most four times a second) and `command.applied` once no linked lamp is still
    /// pending. Stops after ten minutes whatever happens.
    func followForStream(_ id: Int64, target: CommandTarget) {
        let hub = gateway.hub
        guard hub.isActive else { return }
        Task { [self] in
            var last: CommandProgress?
            let deadline = ContinuousClock.now + .seconds(600)
            while ContinuousClock.now < deadline {
                if hub.isActive, let progress = try? self.progress(id) {
                    let done = progress.pending == progress.offline
                    if done || progress.applied != last?.applied || progress.failed != last?.failed {
                        var event = StreamEvent(type: done ? "command.applied" : "command.progress", at: Date())
                        event.command = progress
                        hub.publishCommand(target, event: event)
                        last = progress
                    }
                    if done { return }
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }
}
