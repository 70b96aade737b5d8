import FleetCore
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
    func audit(_ caller: Caller, _ action: String, target: String, detail: String, outcome: String) async {
        // The audit log is in the database: while it cannot be reached the entry is logged
        // only (the pool would wait for a connection without end).
        if cluster?.refusal("auditing") != nil {
            logger.warning("not audited: the database cannot be reached", metadata: ["audit.action": "\(action)", "audit.outcome": "\(outcome)"])
            return
        }
        do {
            try await store.appendAudit(entry(caller, action, target: target, detail: detail, outcome: outcome))
        } catch {
            logger.error("writing the audit log failed", metadata: ["error": "\(error)", "audit.action": "\(action)"])
        }
    }

    /// An audit entry by `caller`, now.
    func entry(_ caller: Caller, _ action: String, target: String, detail: String, outcome: String = "ok") -> AuditRecord {
        FleetService.entry(caller, action, target: target, detail: detail, outcome: outcome, atMilliseconds: clock.nowMilliseconds())
    }

    /// An audit entry by `caller` at `now`.
    public static func entry(
        _ caller: Caller, _ action: String, target: String, detail: String, outcome: String = "ok", atMilliseconds now: UInt64
    ) -> AuditRecord {
        AuditRecord(
            atMilliseconds: now, actor: caller.name, role: caller.role.rawValue, action: action, target: target, detail: detail,
            outcome: outcome)
    }

    /// A request refused for its role: recorded, since it says someone tried; the first of
    /// its token in each minute, then a summary (``HistoryKeeper``).
    public func denied(_ caller: Caller, method: String, path: String) async {
        guard gateway.shared.history.admitDenial(caller, method: method, path: path) else { return }
        await audit(caller, "denied", target: path, detail: method, outcome: "refused: role \(caller.role.rawValue)")
    }

    /// The audit log, newest first.
    public func auditLog(actor: String?, action: String?, before: Int64?, limit: Int) async throws(FleetError) -> [AuditView] {
        try await storing("reading the audit log") {
            try await store.audit(actor: actor, action: action, beforeID: before, limit: limit).map {
                AuditView(
                    id: $0.id ?? 0, at: Date(unixMilliseconds: $0.atMilliseconds), actor: $0.actor, role: $0.role,
                    action: $0.action, target: $0.target, detail: $0.detail, outcome: $0.outcome)
            }
        }
    }

    // MARK: Tokens

    /// Makes a token; its text is in the answer and nowhere else.
    public func createToken(_ request: TokenCreate, by caller: Caller) async throws(FleetError) -> TokenCreated {
        defer { tokenCache.changed() }
        if let refusal = cluster?.refusal("storing the token") { throw refusal }
        return try await FleetService.issueToken(request, store: store, by: caller, atMilliseconds: clock.nowMilliseconds(), logger: logger)
    }

    /// Makes a token in `store` (the API and `lamplighterd token create` both come here).
    public static func issueToken(
        _ request: TokenCreate, store: any FleetStoring, by caller: Caller, atMilliseconds now: UInt64, logger: Logger
    ) async throws(FleetError) -> TokenCreated {
        guard GroupName.isValid(request.name) else {
            throw .invalid("must be 1 to 64 characters of A-Z a-z 0-9 . _ -", field: "name")
        }
        guard let role = Role(rawValue: request.role) else {
            throw .invalid("must be viewer, operator or admin", field: "role")
        }
        let token = APIToken.generate()
        let record = TokenRecord(
            name: request.name, role: role.rawValue, hash: APIToken.hash(token), createdAtMilliseconds: now, createdBy: caller.name)
        do {
            try await store.createToken(
                record, audit: entry(caller, "token.create", target: request.name, detail: "role \(role.rawValue)", atMilliseconds: now))
        } catch let error as FleetError {
            throw error
        } catch {
            logger.error("storing the token failed", metadata: ["error": "\(error)"])
            throw .storage("storing the token")
        }
        return TokenCreated(view: view(record), token: token)
    }

    /// Every token (names and roles, never the tokens).
    public func tokens() async throws(FleetError) -> [TokenView] {
        try await storing("reading tokens") { try await store.tokens().map(FleetService.view) }
    }

    /// Revokes a token at once: its next request gets 401.
    public func revokeToken(_ name: String, by caller: Caller) async throws(FleetError) {
        let revoked = try await storing("revoking the token") {
            try await store.revokeToken(named: name, audit: entry(caller, "token.revoke", target: name, detail: ""))
        }
        tokenCache.changed(revoked: name)
        guard revoked else { throw .notFound("no token named \(name)", field: "name") }
    }

    static func view(_ record: TokenRecord) -> TokenView {
        TokenView(
            name: record.name, role: record.role, createdAt: Date(unixMilliseconds: record.createdAtMilliseconds),
            createdBy: record.createdBy)
    }

    // MARK: Groups

    /// Every group with its size.
    public func groups() async throws(FleetError) -> [GroupView] {
        try await storing("reading groups") { try await store.groups().map(FleetService.view) }
    }

    /// One group.
    public func group(_ name: String) async throws(FleetError) -> GroupView {
        guard let group = try await groups().first(where: { $0.name == name }) else {
            throw .notFound("no group \(name)", field: "name")
        }
        return group
    }

    /// Creates an empty group.
    public func createGroup(_ request: GroupCreate, by caller: Caller) async throws(FleetError) -> GroupView {
        guard GroupName.isValid(request.name) else {
            throw .invalid("must be 1 to 64 characters of A-Z a-z 0-9 . _ -", field: "name")
        }
        if let description = request.description, description.count > 200 {
            throw .invalid("must be at most 200 characters", field: "description")
        }
        try await mutations.exclusive { () async throws(FleetError) in
            try await storing("storing the group") {
                try await store.createGroup(
                    request.name, description: request.description,
                    audit: entry(caller, "group.create", target: "group:\(request.name)", detail: request.description ?? ""))
            }
        }
        return try await group(request.name)
    }

    /// Deletes a group: its lamps stay, without it.
    public func deleteGroup(_ name: String, by caller: Caller) async throws(FleetError) {
        try await mutations.exclusive { () async throws(FleetError) in
            let deleted = try await storing("deleting the group") {
                try await store.deleteGroup(name, audit: entry(caller, "group.delete", target: "group:\(name)", detail: ""))
            }
            guard deleted else { throw .notFound("no group \(name)", field: "name") }
            let members = fleet.withModel { model in (model.resolve(.group(name)) ?? []).map { model.lamps[$0].record.id } }
            fleet.withModel { $0.removeGroup(name) }
            await cluster?.changed(members)
        }
    }

    /// Adds and removes members, all or nothing.
    public func changeMembers(of name: String, _ change: GroupMembersChange, by caller: Caller) async throws(FleetError) -> GroupView {
        func ids(_ texts: [String]?, field: String) throws(FleetError) -> [LampID] {
            var out: [LampID] = []
            for (index, text) in (texts ?? []).enumerated() {
                guard let id = LampID(text) else { throw .invalid("is not a lamp id", field: "\(field)[\(index)]") }
                out.append(id)
            }
            return out
        }
        let add = try ids(change.add, field: "add")
        let remove = try ids(change.remove, field: "remove")
        guard !add.isEmpty || !remove.isEmpty else { throw .invalid("or remove must list at least one lamp", field: "add") }
        try await mutations.exclusive { () async throws(FleetError) in
            _ = try await group(name)
            for id in add + remove where fleet.entry(id) == nil {
                throw .notFound("no lamp \(id) is registered", field: "add")
            }
            try await storing("changing the group") {
                try await store.changeMembers(
                    of: name, add: add, remove: remove,
                    audit: entry(caller, "group.members", target: "group:\(name)", detail: "added \(add.count), removed \(remove.count)"))
            }
            fleet.withModel { $0.changeMembers(of: name, add: add, remove: remove) }
            await cluster?.changed(add + remove)
        }
        return try await group(name)
    }

    static func view(_ record: GroupRecord) -> GroupView {
        GroupView(
            name: record.name, description: record.description, lamps: record.lampCount,
            createdAt: Date(unixMilliseconds: record.createdAtMilliseconds))
    }
}
