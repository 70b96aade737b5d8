import FleetCore
import Foundation
import HTTPTypes
import LampProtocol
import OperatorAPI
import Testing

@testable import Controller

/// The operator API in this process: validation, roles, progress from acks, groups,
/// programs and tokens through the real router, with lamps simulated at the fleet model.
@Suite("Operator API, in process")
struct OperatorAPITests {
    @Test("invalid commands get 400 naming the field; unknown targets 404; a valid one is durable and audited")
    func commandValidation() async throws {
        let fleet = try await InProcessFleet(lamps: 3)
        try await fleet.withClient { api in
            let cases: [(String, Int, String?)] = [
                (#"{"target":"all","action":"level","level":100.01}"#, 400, "level"),
                (#"{"target":"all","action":"level"}"#, 400, "level"),
                (#"{"target":"all","action":"level","level":50,"fadeSeconds":26}"#, 400, "fadeSeconds"),
                (#"{"target":"all","action":"override","level":50}"#, 400, "durationSeconds"),
                (#"{"target":"all","action":"identify","durationSeconds":601}"#, 400, "durationSeconds"),
                (#"{"target":"all","action":"dance"}"#, 400, "action"),
                (#"{"target":"street:1","action":"on"}"#, 400, "target"),
                (#"{"target":5,"action":"on"}"#, 400, "target"),
                (#"{"target":"lamp:nobody","action":"on"}"#, 404, "target"),
                (#"{"target":"group:empty","action":"on"}"#, 404, "target"),
            ]
            for (body, status, field) in cases {
                let (code, error) = try await api.call(.post, "/commands", json: body, as: .operator, APIError.self)
                #expect(code == status, "\(body)")
                #expect(error?.field == field, "\(body): \(String(describing: error))")
            }
            let (accepted, command) = try await api.call(
                .post, "/commands", json: #"{"target":"lamp:lamp-2","action":"level","level":12.5,"fadeSeconds":2}"#, as: .operator,
                CommandAccepted.self)
            #expect(accepted == 202 && command?.lamps == 1)
            let (_, lamp) = try await api.call(.get, "/lamps/lamp-2", as: .viewer, LampView.self)
            #expect(lamp?.desired.level == 12.5 && lamp?.desired.version == 1 && lamp?.converged == false)
            let (_, audit) = try await api.call(.get, "/audit?action=command", as: .operator, [AuditView].self)
            #expect(audit?.first?.detail == "command \(command?.id ?? 0): level 12.5% fade 2.0s")
            #expect(audit?.contains { $0.outcome.hasPrefix("refused: action must be one of") } == true)
        }
    }

    @Test("roles: a viewer cannot command or register (403, audited); no token or a bad one is 401")
    func roles() async throws {
        let fleet = try await InProcessFleet(lamps: 1)
        try await fleet.withClient { api in
            let (viewer, _) = try await api.call(.post, "/commands", json: #"{"target":"all","action":"on"}"#, as: .viewer, APIError.self)
            #expect(viewer == 403)
            let (operatorRegisters, _) = try await api.call(.post, "/lamps", json: #"{"id":"x"}"#, as: .operator, APIError.self)
            #expect(operatorRegisters == 403)
            let (bad, badError) = try await api.call(.get, "/lamps", token: "nonsense", APIError.self)
            #expect(bad == 401 && badError?.error.contains("not valid") == true)
            let (_, denied) = try await api.call(.get, "/audit?action=denied", as: .admin, [AuditView].self)
            #expect(denied?.count == 2)
            let (revoked, _) = try await api.call(.delete, "/tokens/viewer", as: .admin, APIError.self)
            #expect(revoked == 204)
            let (after, _) = try await api.call(.get, "/lamps", as: .viewer, APIError.self)
            #expect(after == 401)
        }
    }

    @Test("the last admin token cannot be revoked; a token in the query counts on the stream route only")
    func tokenRules() async throws {
        let fleet = try await InProcessFleet(lamps: 1)
        try await fleet.withClient { api in
            let admin = try #require(api.tokens[.admin])
            // DELETE /tokens/stream with the admin token in the query and no header: refused.
            let (queried, _) = try await api.send(.delete, "/api/v1/tokens/stream?token=\(admin)", [:], nil)
            #expect(queried == 401)
            let (_, tokens) = try await api.call(.get, "/tokens", as: .admin, [TokenView].self)
            #expect(tokens?.count == 3, "the query token deleted nothing")
            let (last, error) = try await api.call(.delete, "/tokens/admin", as: .admin, APIError.self)
            #expect(last == 409 && error?.error.contains("last admin token") == true, "\(String(describing: error))")
            let (created, _) = try await api.call(.post, "/tokens", json: #"{"name":"second","role":"admin"}"#, as: .admin, TokenCreated.self)
            #expect(created == 201)
            let (revoked, _) = try await api.call(.delete, "/tokens/admin", as: .admin, APIError.self)
            #expect(revoked == 204)
        }
    }

    @Test("progress comes from the lamps' answers: applied, refused, offline pending delivery")
    func progressFromAcks() async throws {
        let fleet = try await InProcessFleet(lamps: 4)
        fleet.linkUp(1)
        fleet.linkUp(2)
        fleet.linkUp(3)
        try await fleet.withClient { api in
            let (_, command) = try await api.call(.post, "/commands", json: #"{"target":"all","action":"off"}"#, as: .operator, CommandAccepted.self)
            let id = try #require(command?.id)
            let (_, lamp) = try await api.call(.get, "/lamps/lamp-1", as: .viewer, LampView.self)
            let version = try #require(lamp?.desired.version)
            fleet.clock.advance(milliseconds: 40)
            fleet.acknowledge(1, version: version)
            fleet.acknowledge(2, version: version)
            let (_, partial) = try await api.call(.get, "/commands/\(id)", as: .viewer, CommandProgress.self)
            #expect(partial?.applied == 2 && partial?.pending == 2 && partial?.offline == 1)
            fleet.refuse(3, version: version)
            let (_, settled) = try await api.call(.get, "/commands/\(id)", as: .viewer, CommandProgress.self)
            #expect(settled?.applied == 2 && settled?.failed == 1 && settled?.failedLamps == ["lamp-3"])
            #expect(settled?.pending == settled?.offline && settled?.offline == 1)
            #expect(settled?.appliedLatency?.max == 40)
            let (missing, _) = try await api.call(.get, "/commands/999", as: .viewer, APIError.self)
            #expect(missing == 404)
        }
    }

    @Test("groups: create, members, a command reaches only them, delete; conflicts and unknown lamps refused")
    func groups() async throws {
        let fleet = try await InProcessFleet(lamps: 4)
        try await fleet.withClient { api in
            let (created, _) = try await api.call(.post, "/groups", body: GroupCreate(name: "harbour"), as: .operator, GroupView.self)
            #expect(created == 201)
            let (again, conflict) = try await api.call(.post, "/groups", body: GroupCreate(name: "harbour"), as: .operator, APIError.self)
            #expect(again == 409 && conflict?.field == "name")
            let (unknown, unknownError) = try await api.call(
                .post, "/groups/harbour/members", body: GroupMembersChange(add: ["nobody"]), as: .operator, APIError.self)
            #expect(unknown == 404 && unknownError?.error.contains("nobody") == true)
            let (_, members) = try await api.call(
                .post, "/groups/harbour/members", body: GroupMembersChange(add: ["lamp-1", "lamp-3"]), as: .operator, GroupView.self)
            #expect(members?.lamps == 2)
            let (_, command) = try await api.call(
                .post, "/commands", json: #"{"target":"group:harbour","action":"level","level":25}"#, as: .operator, CommandAccepted.self)
            #expect(command?.lamps == 2)
            let (_, page) = try await api.call(.get, "/lamps?mode=level", as: .viewer, LampPage.self)
            #expect(page?.lamps.map(\.id) == ["lamp-1", "lamp-3"])
            let (deleted, _) = try await api.call(.delete, "/groups/harbour", as: .operator, APIError.self)
            #expect(deleted == 204)
            let (gone, _) = try await api.call(.get, "/groups/harbour", as: .viewer, APIError.self)
            #expect(gone == 404)
            #expect(fleet.controller.fleet.resolve(.group("harbour")) == [])
        }
    }

    @Test("programs: a bad file names its line; lamps without a place are refused; assigned ones get it; an assigned program cannot be deleted")
    func programs() async throws {
        let homeless = try await InProcessFleet(lamps: 2)
        try await homeless.withClient { api in
            let (bad, error) = try await api.call(.put, "/programs/night", body: ProgramSave(source: "sunset on\n25:61 50%\n"), as: .operator, APIError.self)
            #expect(bad == 400 && error?.field == "source")
            let (saved, _) = try await api.call(.put, "/programs/night", body: ProgramSave(source: "sunset on\nsunrise off\n"), as: .operator, ProgramView.self)
            #expect(saved == 201)
            let (refused, refusal) = try await api.call(
                .post, "/programs/night/assign", body: ProgramAssign(target: "all"), as: .operator, APIError.self)
            #expect(refused == 400 && refusal?.error.contains("2 lamps have no location") == true)
        }
        let placed = try await InProcessFleet(lamps: 2, latitude: -33.86, longitude: 151.2)
        try await placed.withClient { api in
            _ = try await api.call(.put, "/programs/night", body: ProgramSave(source: "sunset on\nsunrise off\n"), as: .operator, ProgramView.self)
            let (assigned, assignment) = try await api.call(
                .post, "/programs/night/assign", body: ProgramAssign(target: "all"), as: .operator, ProgramAssigned.self)
            #expect(assigned == 202 && assignment?.lamps == 2)
            let (_, lamp) = try await api.call(.get, "/lamps/lamp-1", as: .viewer, LampView.self)
            #expect(lamp?.program == "night")
            let (inUse, conflict) = try await api.call(.delete, "/programs/night", as: .operator, APIError.self)
            #expect(inUse == 409 && conflict?.error.contains("assigned to 2 lamps") == true)
        }
    }

    @Test("registration: one rule for every field; a duplicate is 409 and nothing is registered")
    func registration() async throws {
        let fleet = try await InProcessFleet(lamps: 0)
        try await fleet.withClient { api in
            let (created, views) = try await api.call(
                .post, "/lamps", json: #"[{"id":"q1","latitude":-33.86,"longitude":151.2},{"id":"q2","groups":["pier"]}]"#,
                [LampView].self)
            #expect(created == 201 && views?.map(\.id) == ["q1", "q2"])
            let cases: [(String, Int, String?)] = [
                (#"{"id":"q3","latitude":52.1}"#, 400, "longitude"),
                (#"{"id":"bad id"}"#, 400, "id"),
                (#"[{"id":"q4"},{"id":"q5","wattage":9000}]"#, 400, "[1].wattage"),
                (#"[{"id":"q6"},{"id":"q6"}]"#, 400, "[1].id"),
                (#"[{"id":"q7"},{"id":"q1"}]"#, 409, "id"),
            ]
            for (body, status, field) in cases {
                let (code, error) = try await api.call(.post, "/lamps", json: body, APIError.self)
                #expect(code == status && error?.field == field, "\(body): \(code) \(String(describing: error))")
            }
            let (_, page) = try await api.call(.get, "/lamps", as: .viewer, LampPage.self)
            #expect(page?.total == 2)
        }
    }
}
