import Foundation
import OperatorAPI
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Tokens, roles, the audit log, groups, and one-off commands, against a real daemon.
@Suite("Access, audit and groups", .serialized)
struct AccessTests {
    @Test("no token or a bad one is 401, too small a role 403 (audited); a revoked token stops working at once")
    func tokensAndRoles() async throws {
        let daemon = try Daemon(lamps: 3)
        try await daemon.start()
        #expect(daemon.adminToken.hasPrefix("llt_") && daemon.adminToken.count == 68)
        // Every secret and the database are the daemon user's alone, from their first byte
        // (issue 12: the token and key were written 0644 and narrowed after a rename).
        let database = daemon.directory.appendingPathComponent("lamplighter.db").path
        for path in [daemon.adminTokenFile, daemon.keyFile, database, database + "-wal", database + "-shm"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(path)")
        }

        let (none, noneError): (Int, APIError?) = try await daemon.request("GET", "/lamps", token: "")
        #expect(none == 401 && noneError?.error.contains("token is required") == true)
        let (bad, _): (Int, APIError?) = try await daemon.request("GET", "/lamps", token: "llt_" + String(repeating: "0", count: 64))
        #expect(bad == 401)
        let (garbage, _): (Int, APIError?) = try await daemon.request("GET", "/lamps", token: "x")
        #expect(garbage == 401)
        let (document, documentResponse) = try await URLSession.shared.data(from: try #require(URL(string: daemon.server + "/openapi.json")))
        #expect((documentResponse as? HTTPURLResponse)?.statusCode == 200 && document.count > 1000)

        let (created, viewer): (Int, TokenCreated?) = try await daemon.request(
            "POST", "/tokens", body: TokenCreate(name: "night-shift", role: "viewer"))
        #expect(created == 201)
        let viewerToken = try #require(viewer?.token)
        let (listed, _): (Int, LampPage?) = try await daemon.request("GET", "/lamps", token: viewerToken)
        #expect(listed == 200)
        let (forbidden, forbiddenError): (Int, APIError?) = try await daemon.request(
            "POST", "/commands", body: CommandRequest(target: "all", action: "on"), token: viewerToken)
        #expect(forbidden == 403 && forbiddenError?.error.contains("needs operator") == true)
        let (noTokens, _): (Int, APIError?) = try await daemon.request("GET", "/tokens", token: viewerToken)
        #expect(noTokens == 403)
        let (duplicate, _): (Int, APIError?) = try await daemon.request("POST", "/tokens", body: TokenCreate(name: "night-shift", role: "admin"))
        #expect(duplicate == 409)
        let (badRole, badRoleError): (Int, APIError?) = try await daemon.request("POST", "/tokens", body: TokenCreate(name: "x", role: "root"))
        #expect(badRole == 400 && badRoleError?.field == "role")

        // The daemon's own command line makes tokens too, while it runs.
        let cli = try ProductRunner.run("lamplighterd", ["token", "create", "scada", "--role", "operator"] + daemon.database)
        #expect(cli.status == 0)
        let operatorToken = cli.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let (accepted, _): (Int, CommandAccepted?) = try await daemon.request(
            "POST", "/commands", body: CommandRequest(target: "lamp:lamp-0001", action: "on"), token: operatorToken)
        #expect(accepted == 202)

        let (revoked, _): (Int, String?) = try await daemon.request("DELETE", "/tokens/night-shift")
        #expect(revoked == 204)
        let (afterRevoke, _): (Int, LampPage?) = try await daemon.request("GET", "/lamps", token: viewerToken)
        #expect(afterRevoke == 401)
        let (revokeAgain, _): (Int, APIError?) = try await daemon.request("DELETE", "/tokens/night-shift")
        #expect(revokeAgain == 404)

        let (_, audit): (Int, [AuditView]?) = try await daemon.request("GET", "/audit?limit=100")
        let entries = try #require(audit)
        let summary = entries.reversed().map { "\($0.actor) \($0.action) \($0.target) \($0.outcome)" }
        #expect(
            summary == [
                "command line token.create admin ok", "admin lamps.register 3 lamps ok", "admin token.create night-shift ok",
                "night-shift denied /api/v1/commands refused: role viewer", "night-shift denied /api/v1/tokens refused: role viewer",
                "command line token.create scada ok", "scada command lamp:lamp-0001 ok", "admin token.revoke night-shift ok",
            ], "\(summary)")
        let (_, mine): (Int, [AuditView]?) = try await daemon.request("GET", "/audit?actor=scada", token: operatorToken)
        #expect(mine?.count == 1 && mine?.first?.detail.hasPrefix("command ") == true)
    }

    @Test("groups: create, members all-or-none, commands to them, delete; errors say what is wrong")
    func groups() async throws {
        let daemon = try Daemon(lamps: 6)
        try await daemon.start()
        let sim = try Simulator(daemon, count: 6)
        try await waitUntil("6 lamps are online") { try await daemon.onlineCount() == 6 }

        let (created, group): (Int, GroupView?) = try await daemon.request(
            "POST", "/groups", body: GroupCreate(name: "harbour", description: "quay lights"))
        #expect(created == 201 && group?.lamps == 0)
        let (again, _): (Int, APIError?) = try await daemon.request("POST", "/groups", body: GroupCreate(name: "harbour"))
        #expect(again == 409)
        let (invalid, invalidError): (Int, APIError?) = try await daemon.request("POST", "/groups", body: GroupCreate(name: "no spaces"))
        #expect(invalid == 400 && invalidError?.field == "name")
        let (empty, _): (Int, APIError?) = try await daemon.request("POST", "/commands", body: CommandRequest(target: "group:harbour", action: "on"))
        #expect(empty == 404)

        let (unknownLamp, unknownError): (Int, APIError?) = try await daemon.request(
            "POST", "/groups/harbour/members", body: GroupMembersChange(add: ["lamp-0001", "nobody"]))
        #expect(unknownLamp == 404 && unknownError?.error.contains("nobody") == true)
        let (_, unchanged): (Int, GroupView?) = try await daemon.request("GET", "/groups/harbour")
        #expect(unchanged?.lamps == 0)
        let (added, withMembers): (Int, GroupView?) = try await daemon.request(
            "POST", "/groups/harbour/members", body: GroupMembersChange(add: ["lamp-0001", "lamp-0002", "lamp-0003"]))
        #expect(added == 200 && withMembers?.lamps == 3)
        let (_, removed): (Int, GroupView?) = try await daemon.request(
            "POST", "/groups/harbour/members", body: GroupMembersChange(remove: ["lamp-0003"]))
        #expect(removed?.lamps == 2)

        let command = try await daemon.command(CommandRequest(target: "group:harbour", action: "level", level: 25))
        #expect(command.lamps == 2)
        try await waitUntil("the group applied it") { try await daemon.progress(command.id).applied == 2 }
        let (_, page): (Int, LampPage?) = try await daemon.request("GET", "/lamps?group=harbour&mode=level")
        #expect(page?.lamps.map(\.id) == ["lamp-0001", "lamp-0002"])
        let (badMode, _): (Int, APIError?) = try await daemon.request("GET", "/lamps?mode=disco")
        #expect(badMode == 400)

        let (deleted, _): (Int, String?) = try await daemon.request("DELETE", "/groups/harbour")
        #expect(deleted == 204)
        let (gone, _): (Int, APIError?) = try await daemon.request("GET", "/groups/harbour")
        #expect(gone == 404)
        #expect(try await daemon.lamp("lamp-0001")?.groups.isEmpty == true)
        try await waitUntil("the lamp's events are written and shown with it") {
            try await daemon.lamp("lamp-0001")?.recentEvents?.contains { $0.kind == "online" } == true
        }
        _ = try sim.finish()
    }

    @Test("identify and reboot go once to the lamps online now: acknowledged; offline ones counted offline, not refused; a rebooted lamp returns")
    func identifyAndReboot() async throws {
        let daemon = try Daemon(lamps: 4)
        try await daemon.start()
        let sim = try Simulator(daemon, count: 3)
        try await waitUntil("3 lamps are online") { try await daemon.onlineCount() == 3 }

        let identify = try await daemon.command(CommandRequest(target: "all", action: "identify", durationSeconds: 30))
        try await waitUntil("the online lamps acknowledged identify") {
            let progress = try await daemon.progress(identify.id)
            return progress.applied == 3 && progress.pending == progress.offline
        }
        let progress = try await daemon.progress(identify.id)
        #expect(progress.failed == 0 && progress.offline == 1 && progress.failedLamps.isEmpty && progress.action == "identify for 30s")
        let (tooLong, tooLongError): (Int, APIError?) = try await daemon.request(
            "POST", "/commands", body: CommandRequest(target: "all", action: "identify", durationSeconds: 601))
        #expect(tooLong == 400 && tooLongError?.field == "durationSeconds")

        let before = try #require(try await daemon.lamp("lamp-0002")?.lastSeen)
        let reboot = try await daemon.command(CommandRequest(target: "lamp:lamp-0002", action: "reboot"))
        try await waitUntil("the lamp acknowledged the reboot") { try await daemon.progress(reboot.id).applied == 1 }
        try await waitUntil("the lamp came back") {
            let events = try await daemon.events(lamp: "lamp-0002")
            return events.filter { $0.kind == "online" }.count >= 2 && events.first?.kind == "online"
        }
        #expect(try await daemon.lamp("lamp-0002")?.online == true)
        #expect(before > Date(timeIntervalSince1970: 0))
        _ = try sim.finish()
    }
}
