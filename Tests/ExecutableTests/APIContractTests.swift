import Foundation
import OperatorAPI
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The operator API's status codes and error messages, against a real daemon.
@Suite("Operator API contract", .serialized)
struct APIContractTests {
    static func post(_ daemon: Daemon, _ path: String, json: String, token: String? = nil) async throws -> (Int, APIError?) {
        guard let url = URL(string: daemon.api + path) else { throw HarnessError("not a URL: \(daemon.api + path)") }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = Data(json.utf8)
        request.setValue("Bearer \(token ?? daemon.adminToken)", forHTTPHeaderField: "Authorization")
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, try? JSONDecoder().decode(APIError.self, from: data))
    }

    @Test("invalid commands get 400 naming the field; unknown targets 404")
    func commandValidation() async throws {
        let daemon = try Daemon(lamps: 3)
        try await daemon.start()
        let cases: [(String, Int, String?)] = [
            (#"{"target":"all","action":"level","level":100.01}"#, 400, "level"),
            (#"{"target":"all","action":"level","level":-1}"#, 400, "level"),
            (#"{"target":"all","action":"level"}"#, 400, "level"),
            (#"{"target":"all","action":"level","level":50,"fadeSeconds":26}"#, 400, "fadeSeconds"),
            (#"{"target":"all","action":"override","level":50}"#, 400, "durationSeconds"),
            (#"{"target":"all","action":"override","level":50,"durationSeconds":0}"#, 400, "durationSeconds"),
            (#"{"target":"all","action":"dance"}"#, 400, "action"),
            (#"{"target":"street:1","action":"on"}"#, 400, "target"),
            (#"{"action":"on"}"#, 400, "target"),
            (#"{"target":5,"action":"on"}"#, 400, "target"),
            (#"{"target":"all","action":"on""#, 400, nil),
            (#"{"target":"lamp:nobody","action":"on"}"#, 404, "target"),
            (#"{"target":"group:empty","action":"on"}"#, 404, "target"),
        ]
        for (body, status, field) in cases {
            let (code, error) = try await Self.post(daemon, "/commands", json: body)
            #expect(code == status, "\(body)")
            #expect(error?.field == field, "\(body): \(String(describing: error))")
            #expect(error?.error.isEmpty == false)
        }
        let (ok, _) = try await Self.post(daemon, "/commands", json: #"{"target":"lamp:lamp-0002","action":"level","level":12.5}"#)
        #expect(ok == 202)
        let lamp = try #require(try await daemon.lamp("lamp-0002"))
        #expect(lamp.desired.level == 12.5 && lamp.desired.version == 1 && !lamp.converged)
    }

    @Test("registration: created, duplicate 409, invalid 400 naming the field; listing pages and filters")
    func registrationAndListing() async throws {
        let daemon = try Daemon(lamps: 0)
        try await daemon.start()
        let (created, _) = try await Self.post(
            daemon, "/lamps", json: #"[{"id":"main-1","groups":["main"],"latitude":52.1,"longitude":4.3,"wattage":60},{"id":"main-2","groups":["main"]},{"id":"side-1"}]"#)
        #expect(created == 201)
        let (duplicate, error) = try await Self.post(daemon, "/lamps", json: #"{"id":"main-1"}"#)
        #expect(duplicate == 409 && error?.field == "id")
        let (invalid, invalidError) = try await Self.post(daemon, "/lamps", json: #"[{"id":"ok-1"},{"id":"ok-2","latitude":91}]"#)
        #expect(invalid == 400 && invalidError?.field == "[1].latitude")
        let (_, page): (Int, LampPage?) = try await daemon.request("GET", "/lamps?group=main&limit=1&offset=1")
        #expect(page?.total == 2 && page?.lamps.map(\.id) == ["main-2"])
        let (badLimit, _): (Int, APIError?) = try await daemon.request("GET", "/lamps?limit=0")
        #expect(badLimit == 400)
        let (missing, _): (Int, APIError?) = try await daemon.request("GET", "/lamps/nobody")
        #expect(missing == 404)
        let (noCommand, _): (Int, APIError?) = try await daemon.request("GET", "/commands/99")
        #expect(noCommand == 404)
    }
}

/// The OpenAPI document against real responses: every operation of a running daemon, each
/// answer checked against the schema the document gives for its path, method and status.
@Suite("OpenAPI document against real responses", .serialized)
struct OpenAPIContractTests {
    /// A lighting program every lamp with a place can run.
    static let program = "# All night\nsunset on\nsunrise off\n"

    /// A daemon with three simulated lamps (reporting every second) and three that never
    /// connect; every documented operation is called, with successes and refusals, and the
    /// test fails if one is left out.
    @Test("every operation's real answers match the document: status documented, content type, body schema")
    func responsesMatchTheDocument() async throws {
        let daemon = try Daemon(lamps: 3)
        daemon.runArguments = ["--timezone", "UTC0", "--latitude", "52.37", "--longitude", "4.90", "--report-interval", "1"]
        try await daemon.start()
        let sim = try Simulator(daemon, count: 3)

        // The running binary serves the document it was built with: the generated file.
        let (served, documentResponse) = try await URLSession.shared.data(from: try #require(URL(string: daemon.server + "/openapi.json")))
        #expect((documentResponse as? HTTPURLResponse)?.statusCode == 200)
        #expect(served == (try OpenAPIContract.sourceDocument()), "the served document is not Sources/Controller/Resources/openapi.json")
        let api = ContractClient(daemon, contract: try OpenAPIContract(document: served))
        #expect(api.contract.document["info"]?["x-generated-by"]?.string?.contains("scripts/make-openapi.py") == true)

        // Without a token.
        try await api.call("GET", "/healthz", expect: 200)
        try await api.call("GET", "/openapi.json", expect: 200)
        try await api.call("GET", "/metrics", expect: 200)
        try await api.call("GET", "/api/v1/lamps", token: "", expect: 401)
        // The dashboard's page and files need no token either; a file it does not have is a JSON 404.
        try await api.call("GET", "/", token: "", expect: 200)
        try await api.call("GET", "/dashboard/app.js", token: "", expect: 200)
        try await api.call("GET", "/dashboard/style.css", token: "", expect: 200)
        try await api.call("GET", "/dashboard/nothing.js", token: "", expect: 404)
        try await api.call("GET", "/api/v1/whoami", expect: 200)
        try await api.call("GET", "/api/v1/whoami", token: "", expect: 401)

        // Lamps: one, an array (with an explicit null, which the server reads as absent), refusals.
        try await api.call(
            "POST", "/api/v1/lamps", #"{"id":"extra-1","name":"Main St 12","groups":["north"],"latitude":52.37,"longitude":4.9,"wattage":60}"#,
            expect: 201)
        try await api.call("POST", "/api/v1/lamps", #"[{"id":"extra-2","name":null,"groups":["north"]},{"id":"extra-3"}]"#, expect: 201)
        try await api.call("POST", "/api/v1/lamps", #"{"id":"extra-1"}"#, expect: 409)
        try await api.call("POST", "/api/v1/lamps", #"{"id":"extra-4","latitude":91}"#, expect: 400)
        try await api.call("PATCH", "/api/v1/lamps/extra-1", #"{"name":"Main St 14","latitude":52.38,"wattage":null}"#, expect: 200)
        try await api.call("PATCH", "/api/v1/lamps/extra-3", #"{"latitude":52.38}"#, expect: 400)
        try await api.call("PATCH", "/api/v1/lamps/nobody", #"{"name":"x"}"#, expect: 404)
        try await api.call("POST", "/api/v1/lamps", #"{"id":"gone-1"}"#, expect: 201)
        try await api.call("DELETE", "/api/v1/lamps/gone-1", expect: 204)
        try await api.call("DELETE", "/api/v1/lamps/gone-1", expect: 404)
        try await api.call("POST", "/api/v1/lamps/extra-3/revoke", expect: 200)
        try await api.call("POST", "/api/v1/lamps/gone-1/revoke", expect: 404)
        try await api.call("POST", "/api/v1/lamps/extra-3/restore", expect: 200)

        // Groups and members.
        try await api.call("POST", "/api/v1/groups", #"{"name":"evening","description":"Lamps on the evening round"}"#, expect: 201)
        try await api.call("POST", "/api/v1/groups", #"{"name":"spare"}"#, expect: 201)
        try await api.call("POST", "/api/v1/groups", #"{"name":"spare"}"#, expect: 409)
        try await api.call("POST", "/api/v1/groups/evening/members", #"{"add":["lamp-0001","lamp-0002","extra-3"],"remove":null}"#, expect: 200)
        try await api.call("POST", "/api/v1/groups/evening/members", #"{"remove":["extra-3"]}"#, expect: 200)
        try await api.call("POST", "/api/v1/groups/nobody/members", #"{"add":["lamp-0001"]}"#, expect: 404)
        try await api.call("GET", "/api/v1/groups", expect: 200)
        try await api.call("GET", "/api/v1/groups/evening", expect: 200)
        try await api.call("GET", "/api/v1/groups/nobody", expect: 404)

        // Commands: a level to a group, an override to all; wait until the connected lamps
        // applied it, so progress carries latencies and lamps their reported state.
        try await waitUntil("the 3 simulated lamps are online") { try await daemon.onlineCount() == 3 }
        try await api.call("POST", "/api/v1/commands", #"{"target":"group:evening","action":"level","level":40,"fadeSeconds":0.5}"#, expect: 202)
        let override = try await api.call(
            "POST", "/api/v1/commands", #"{"target":"all","action":"override","level":80,"durationSeconds":3600,"fadeSeconds":null}"#, expect: 202)
        let overrideID = try #require(override["id"]?.number.map { Int64($0) })
        try await api.call("POST", "/api/v1/commands", #"{"target":"all","action":"dance"}"#, expect: 400)
        try await api.call("POST", "/api/v1/commands", #"{"target":"lamp:nobody","action":"on"}"#, expect: 404)
        try await waitUntil("the online lamps applied the override, reported, and have events") {
            let applied = try await daemon.progress(overrideID).applied == 3
            let lamp = try await daemon.lamp("lamp-0001")
            return applied && lamp?.reported?.appliedVersion == 2 && lamp?.recentEvents?.isEmpty == false
        }
        let progress = try await api.call("GET", "/api/v1/commands/\(overrideID)", expect: 200)
        #expect(progress["appliedLatency"] != nil && progress["offline"]?.number == 3)
        try await api.call("GET", "/api/v1/commands/999999", expect: 404)

        // Lamps as read back: online and reporting, never connected, paged and filtered.
        let lamp = try await api.call("GET", "/api/v1/lamps/lamp-0001", expect: 200)
        #expect(lamp["reported"]?["reportedAt"] != nil && lamp["recentEvents"]?.elements?.isEmpty == false)
        #expect(lamp["desired"]?["overrideUntil"] != nil)
        let offline = try await api.call("GET", "/api/v1/lamps/extra-1", expect: 200)
        #expect(offline["reported"] == nil && offline["lastSeen"] == nil)
        try await api.call("GET", "/api/v1/lamps/nobody", expect: 404)
        try await api.call("GET", "/api/v1/lamps", expect: 200)
        try await api.call("GET", "/api/v1/lamps?group=evening&online=true&mode=override&limit=1&offset=1", expect: 200)
        try await api.call("GET", "/api/v1/lamps?limit=0", expect: 400)
        try await api.call("GET", "/api/v1/events", expect: 200)
        try await api.call("GET", "/api/v1/events?lamp=lamp-0001&kind=online&limit=5", expect: 200)
        try await api.call("GET", "/api/v1/events?limit=0", expect: 400)
        // Incidents (no fault here: FaultEndToEndTests makes real ones).
        try await api.call("GET", "/api/v1/incidents?state=open&kind=lamp-failure&lamp=lamp-0001&cabinet=C-1&limit=5", expect: 200)
        try await api.call("GET", "/api/v1/incidents?kind=flicker", expect: 400)
        try await api.call("GET", "/api/v1/incidents/999", expect: 404)
        try await api.call("POST", "/api/v1/incidents/999/acknowledge", expect: 404)
        try await api.call("POST", "/api/v1/incidents/999/resolve", expect: 404)
        try await api.call("POST", "/api/v1/webhooks", #"{"url":"http://127.0.0.1:9/hooks","events":["incident.*"],"targets":["all"]}"#, expect: 201)
        try await api.call("POST", "/api/v1/webhooks", #"{"url":"ftp://127.0.0.1/hooks"}"#, expect: 400)
        try await api.call("GET", "/api/v1/webhooks", expect: 200)
        try await api.call("GET", "/api/v1/webhooks/1", expect: 200)
        try await api.call("GET", "/api/v1/webhooks/999", expect: 404)
        try await api.call("GET", "/api/v1/webhooks/1/deliveries?limit=10", expect: 200)
        try await api.call("POST", "/api/v1/webhooks/1/deliveries/999/replay", expect: 404)
        try await api.call("DELETE", "/api/v1/webhooks/1", expect: 204)
        try await api.call("DELETE", "/api/v1/webhooks/1", expect: 404)
        try await api.call("GET", "/api/v1/stats", expect: 200)

        // Energy: rows once the writer has stored the lamps' first lit seconds (every 5 s).
        try await waitUntil("energy is stored for lamp-0001") {
            let (_, report): (Int, EnergyReport?) = try await daemon.request("GET", "/energy?target=lamp-0001")
            return report?.rows.isEmpty == false
        }
        let energy = try await api.call("GET", "/api/v1/energy?target=group:evening&step=day&from=2026-01-01", expect: 200)
        #expect(energy["rows"]?.elements?.isEmpty == false)
        try await api.call("GET", "/api/v1/energy", expect: 200)
        try await api.call("GET", "/api/v1/energy?target=lamp-0001&step=month&to=2100-01-01T00:00:00Z&from=2026-01-01", expect: 200)
        try await api.call("GET", "/api/v1/energy?target=nobody", expect: 404)
        try await api.call("GET", "/api/v1/energy?target=group:nobody", expect: 404)
        try await api.call("GET", "/api/v1/energy?target=lamp:", expect: 400)
        try await api.call("GET", "/api/v1/energy?step=week", expect: 400)
        try await api.call("GET", "/api/v1/energy?from=yesterday", expect: 400)
        try await api.call("GET", "/api/v1/energy?from=2026-11-30&to=2026-11-29", expect: 400)
        try await api.call("GET", "/api/v1/energy?from=2000-01-01&to=2026-01-01&step=hour", expect: 400)

        // Tokens and roles.
        let created = try await api.call("POST", "/api/v1/tokens", #"{"name":"night-shift","role":"viewer"}"#, expect: 201)
        let viewer = try #require(created["token"]?.string)
        try await api.call("POST", "/api/v1/tokens", #"{"name":"night-shift","role":"admin"}"#, expect: 409)
        try await api.call("POST", "/api/v1/tokens", #"{"name":"root","role":"root"}"#, expect: 400)
        try await api.call("GET", "/api/v1/tokens", expect: 200)
        try await api.call("GET", "/api/v1/lamps?limit=2", token: viewer, expect: 200)
        try await api.call("POST", "/api/v1/commands", #"{"target":"all","action":"on"}"#, token: viewer, expect: 403)

        // Programs: create, change, refuse, assign, refuse to delete while assigned.
        let body = String(decoding: try APICoding.encoder().encode(ProgramSave(source: Self.program)), as: UTF8.self)
        try await api.call("PUT", "/api/v1/programs/all-night", body, expect: 201)
        try await api.call("PUT", "/api/v1/programs/all-night", body, expect: 200)
        try await api.call("PUT", "/api/v1/programs/broken", #"{"source":"sunset maybe"}"#, expect: 400)
        try await api.call("GET", "/api/v1/programs", expect: 200)
        try await api.call("GET", "/api/v1/programs/all-night", expect: 200)
        try await api.call("GET", "/api/v1/programs/nobody", expect: 404)
        try await api.call("GET", "/api/v1/programs/all-night/preview?date=2026-11-20", expect: 200)
        try await api.call("GET", "/api/v1/programs/all-night/preview?latitude=69.65&longitude=18.96", expect: 200)
        try await api.call("GET", "/api/v1/programs/all-night/preview?date=tomorrow", expect: 400)
        try await api.call("GET", "/api/v1/programs/nobody/preview", expect: 404)
        try await api.call("GET", "/api/v1/programs/all-night/forecast?year=2027&wattage=60", expect: 200)
        try await api.call("GET", "/api/v1/programs/all-night/forecast?year=2027&latitude=69.65&longitude=18.96&wattage=60", expect: 200)
        try await api.call("GET", "/api/v1/programs/all-night/forecast?year=1800", expect: 400)
        try await api.call("GET", "/api/v1/programs/all-night/forecast?wattage=-5", expect: 400)
        try await api.call("GET", "/api/v1/programs/all-night/forecast?latitude=52", expect: 400)
        try await api.call("GET", "/api/v1/programs/nobody/forecast", expect: 404)
        try await api.call("GET", "/api/v1/programs/all-night/forecast?year=2027&wattage=60&timezone=Europe/Amsterdam", expect: 200)
        try await api.call("GET", "/api/v1/programs/all-night/forecast?wattage=60&timezone=Mars/Olympus", expect: 400)
        try await api.call("POST", "/api/v1/programs/all-night/assign", #"{"target":"lamp:lamp-0003"}"#, expect: 202)
        try await api.call("POST", "/api/v1/programs/nobody/assign", #"{"target":"all"}"#, expect: 404)
        try await api.call("DELETE", "/api/v1/programs/all-night", expect: 409)
        try await api.call("POST", "/api/v1/commands", #"{"target":"lamp:lamp-0003","action":"resume"}"#, expect: 202)
        let following = try await api.call("GET", "/api/v1/lamps/lamp-0003", expect: 200)
        #expect(following["program"]?.string == "all-night")

        // The audit log holds all of the above; the stream refuses plain HTTP.
        try await api.call("GET", "/api/v1/audit?limit=200", expect: 200)
        try await api.call("GET", "/api/v1/stream", expect: 426)

        // Deletions.
        try await api.call("DELETE", "/api/v1/groups/spare", expect: 204)
        try await api.call("DELETE", "/api/v1/groups/spare", expect: 404)
        try await api.call("DELETE", "/api/v1/tokens/night-shift", expect: 204)
        try await api.call("DELETE", "/api/v1/tokens/night-shift", expect: 404)
        try await api.call("PUT", "/api/v1/programs/unused", body, expect: 201)
        try await api.call("DELETE", "/api/v1/programs/unused", expect: 204)

        // Keys (SPEC.md §8.12): rotations, the fleet master key.
        try await api.call("POST", "/api/v1/keys/rekey", #"{"target":"lamp:extra-3"}"#, expect: 200)
        try await api.call("POST", "/api/v1/keys/rekey", #"{"target":"nowhere"}"#, expect: 400)
        try await api.call("POST", "/api/v1/keys/rekey", #"{"target":"lamp:nobody"}"#, expect: 404)
        try await api.call("GET", "/api/v1/keys", expect: 200)
        try await api.call("POST", "/api/v1/keys/master/retire", expect: 409)
        try await api.call("POST", "/api/v1/keys/master/rotate", expect: 200)
        try await api.call("POST", "/api/v1/keys/master/retire", expect: 409)

        let missed = api.contract.operations.subtracting(api.called)
        #expect(missed.isEmpty, "documented operations this test never called: \(missed.sorted())")
        _ = try sim.finish()
    }

    /// The validator is only worth its passes if it fails: deliberately wrong bodies against
    /// the real document, after a correct one passes.
    @Test("the check fails wrong bodies: a missing required field, a wrong type, bad values, an undocumented status")
    func validatorRefusesWrongBodies() throws {
        let contract = try OpenAPIContract(document: try OpenAPIContract.sourceDocument())
        func problems(_ body: String, status: Int = 200, path: String = "/api/v1/lamps/lamp-0001", type: String = "application/json") -> [String] {
            contract.problems(method: "GET", path: path, status: status, contentType: type, body: Data(body.utf8))
        }
        let lamp = #"""
            {"converged":true,"desired":{"fadeSeconds":0,"level":40,"mode":"level","version":3},"groups":["north"],"id":"lamp-0001",
            "lastSeen":"2026-11-29T21:04:05.120Z","online":true,"recentEvents":[{"at":"2026-11-29T21:04:05Z","detail":"","id":1,"kind":"online","lamp":"lamp-0001"}]}
            """#
        #expect(problems(lamp) == [], "the correct body must pass, or the failures below prove nothing")

        func broken(_ from: String, _ to: String) -> String {
            #expect(lamp.contains(from), "the test's own edit \(from) does not apply")
            return lamp.replacingOccurrences(of: from, with: to)
        }
        let cases: [(body: String, status: Int, problem: String)] = [
            (broken(#""online":true,"#, ""), 200, "$: the required property online is missing"),
            (broken(#""mode":"level","#, ""), 200, "$.desired: the required property mode is missing"),
            (broken(#""online":true"#, #""online":1"#), 200, "$.online: expected boolean, found integer 1"),
            (broken(#""online":true"#, #""online":"true""#), 200, #"$.online: expected boolean, found string "true""#),
            (broken(#""id":"lamp-0001","#, #""id":7,"#), 200, "$.id: expected string, found integer 7"),
            (broken(#""version":3"#, #""version":3.5"#), 200, "$.desired.version: expected integer, found number 3.5"),
            (broken(#""groups":["north"]"#, #""groups":"north""#), 200, #"$.groups: expected array, found string "north""#),
            (broken(#""groups":["north"]"#, #""groups":[5]"#), 200, "$.groups[0]: expected string, found integer 5"),
            (broken(#""lastSeen":"2026-11-29T21:04:05.120Z""#, #""lastSeen":"29/11/2026""#), 200,
             #"$.lastSeen: "29/11/2026" is not an RFC 3339 date-time"#),
            (broken(#""mode":"level""#, #""mode":"dance""#), 200, #"$.desired.mode: "dance" is not one of"#),
            (broken(#""lastSeen":"2026-11-29T21:04:05.120Z""#, #""lastSeen":null"#), 200, "$.lastSeen: expected string, found null"),
            (broken(#""at":"2026-11-29T21:04:05Z","#, ""), 200, "$.recentEvents[0]: the required property at is missing"),
            (broken(#""online":true"#, #""online":true,"colour":"amber""#), 200, "$: the property colour is not in the schema"),
            (lamp, 418, "answered 418, which is not documented"),
            (lamp, 201, "answered 201, which is not documented"),
            ("[]", 200, "$: expected object, found array"),
            ("{", 200, "the body is not JSON"),
        ]
        for (body, status, problem) in cases {
            let found = problems(body, status: status)
            #expect(found.contains { $0.contains(problem) }, "expected \(problem), got \(found)")
        }
        #expect(problems(lamp, type: "text/plain").first?.contains("content type text/plain") == true)
        #expect(problems("", status: 204).first?.contains("answered 204, which is not documented") == true)
        #expect(
            contract.problems(method: "PUT", path: "/api/v1/lamps/x", status: 200, contentType: nil, body: Data()).first?
                .contains("not a documented operation") == true)
        #expect(problems(#"{"error":"gone"}"#, status: 404, path: "/api/v1/groups/x") == [])
        #expect(problems(#"{"field":"name"}"#, status: 404, path: "/api/v1/groups/x").first?.contains("required property error") == true)
        #expect(problems(lamp, path: "/api/v2/lamps").first?.contains("not a documented path") == true)

        // Request bodies: oneOf of one registration or an array; null where optional.
        let register = { (body: String) in contract.requestProblems(method: "POST", path: "/api/v1/lamps", body: Data(body.utf8)) }
        #expect(register(#"{"id":"a","name":null}"#) == [])
        #expect(register(#"[{"id":"a"},{"id":"b","groups":["x"]}]"#) == [])
        #expect(register(#"{"latitude":5}"#).first?.contains("matches 0 of the 2 oneOf branches") == true)
        #expect(register(#"[{"id":"a"},{"id":"b","wattage":"lots"}]"#).first?.contains("wattage: expected number or null") == true)

        // The validator refuses to pass a schema whose keywords it does not check.
        let validator = SchemaValidator(document: .null)
        #expect(validator.problems(.string("ab"), try JSONValue.parse(#"{"type":"string","minLength":3}"#)).first?.contains("minLength") == true)
        #expect(validator.problems(.string("ab"), try JSONValue.parse(#"{"type":"string","format":"email"}"#)).first?.contains("email") == true)
        for valid in ["2026-11-29T21:04:05Z", "2026-11-29T21:04:05.120Z", "2026-11-29T21:04:05+01:00"] {
            #expect(SchemaValidator.isDateTime(valid), "\(valid)")
        }
        for invalid in ["2026-11-29", "2026-13-29T21:04:05Z", "2026-11-29T21:04:05", "2026-11-29 21:04:05Z", "2026-11-29T21:04:05.Z"] {
            #expect(!SchemaValidator.isDateTime(invalid), "\(invalid)")
        }
    }

    /// A copy of the binary in a directory of its own stands for an installation that forgot
    /// the bundle.
    @Test("a lamplighterd installed without its resource bundle keeps running and answers /openapi.json with a 500 JSON error")
    func missingResourceBundle() async throws {
        let daemon = try Daemon(lamps: 0)
        // A copy of the binary alone, without Lamplighter_Controller.resources beside it.
        let copy = daemon.directory.appendingPathComponent("bin/lamplighterd")
        try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: daemon.executable, to: copy)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: copy.path)
        daemon.executable = copy
        try await daemon.start()

        let api = ContractClient(daemon, contract: try OpenAPIContract(document: try OpenAPIContract.sourceDocument()))
        let refusal = try await api.call("GET", "/openapi.json", expect: 500)
        let reason = try #require(refusal["error"]?.string)
        #expect(reason.contains("Lamplighter_Controller.resources/openapi.json was not found") && reason.contains(copy.deletingLastPathComponent().path))
        try await api.call("GET", "/healthz", expect: 200)
        try await api.call("GET", "/api/v1/lamps", expect: 200)
        #expect(daemon.process?.isRunning == true)
    }
}

/// Calls a daemon's API and checks every answer against an OpenAPI document: its status
/// must be the expected one and documented for the path and method, and its body must match
/// the documented schema. Each problem is recorded as a test issue where the call is.
final class ContractClient {
    /// The daemon called.
    let daemon: Daemon
    /// The document answers are checked against.
    let contract: OpenAPIContract
    /// The documented operations called so far, as `GET /api/v1/lamps/{id}`.
    private(set) var called: Set<String> = []

    /// A client of `daemon` checking against `contract`.
    init(_ daemon: Daemon, contract: OpenAPIContract) {
        self.daemon = daemon
        self.contract = contract
    }

    /// Sends `method path` (from the server's root, query included) with the JSON `body`, as
    /// admin or with `token` (empty: none); checks the answer. A request body that succeeds
    /// (2xx) must itself match the documented request schema. Returns the answer's JSON, or
    /// `.null` when it has none.
    @discardableResult
    func call(
        _ method: String, _ path: String, _ body: String? = nil, token: String? = nil, expect expected: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> JSONValue {
        var request = URLRequest(url: try #require(URL(string: daemon.server + path), sourceLocation: sourceLocation))
        request.httpMethod = method
        let bearer = token ?? daemon.adminToken
        if !bearer.isEmpty {
            request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization")
        }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse, sourceLocation: sourceLocation)
        let text = String(decoding: data.prefix(300), as: UTF8.self)
        #expect(http.statusCode == expected, "\(method) \(path) answered \(http.statusCode): \(text)", sourceLocation: sourceLocation)
        if let template = contract.template(for: path), contract.operation(method, template) != nil {
            called.insert("\(method) \(template)")
        }
        var problems = contract.problems(
            method: method, path: path, status: http.statusCode, contentType: http.value(forHTTPHeaderField: "Content-Type"), body: data)
        if let body, (200..<300).contains(http.statusCode) {
            problems += contract.requestProblems(method: method, path: path, body: Data(body.utf8))
        }
        for problem in problems {
            Issue.record("\(problem)", sourceLocation: sourceLocation)
        }
        let isJSON = http.value(forHTTPHeaderField: "Content-Type")?.contains("json") == true
        return isJSON && !data.isEmpty ? (try? JSONValue.parse(data)) ?? .null : .null
    }
}
