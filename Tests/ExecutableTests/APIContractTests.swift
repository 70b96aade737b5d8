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
        var request = URLRequest(url: URL(string: daemon.api + path)!)
        request.httpMethod = "POST"
        request.httpBody = Data(json.utf8)
        request.setValue("Bearer \(token ?? daemon.adminToken)", forHTTPHeaderField: "Authorization")
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, try? JSONDecoder().decode(APIError.self, from: data))
    }

    @Test("invalid commands get 400 naming the field; unknown targets 404")
    func commandValidation() async throws {
        let daemon = try Daemon(lamps: 3)
        try daemon.start()
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
        try daemon.start()
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
