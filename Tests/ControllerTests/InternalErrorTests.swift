import Foundation
import HTTPTypes
import OperatorAPI
import Testing

@testable import Controller

/// Issue 12: 500 answers carried SQL text. An internal error's answer names no internals,
/// only a reference to its line in the daemon's log.
@Suite("Internal errors")
struct InternalErrorTests {
    @Test("a failing store read answers 500 with a log reference and no SQL")
    func noInternalsInErrors() async throws {
        let box = FlakyBox()
        let fleet = try await InProcessFleet(lamps: 1, store: { real in box.set(FlakyStore(real)) })
        try #require(box.store).failReads = true
        try await fleet.withClient { api in
            for path in ["/audit", "/groups"] {
                let (status, error) = try await api.call(.get, path, as: .admin, APIError.self)
                #expect(status == 500, "\(path)")
                let text = error?.error ?? ""
                #expect(!text.contains("SELECT") && !text.contains("SQLite") && !text.contains("audit ORDER"), "\(path): \(text)")
                #expect(text.range(of: #"internal error, see the daemon's log for [0-9a-f]+$"#, options: .regularExpression) != nil, "\(path): \(text)")
            }
        }
    }
}

/// Issue 12: unknown JSON fields in request bodies were ignored silently.
@Suite("Unknown request fields")
struct UnknownFieldTests {
    @Test("a field the request type does not have is refused with 400 naming it; nothing is done")
    func unknownFieldsRefused() async throws {
        let fleet = try await InProcessFleet(lamps: 1)
        try await fleet.withClient { api in
            let cases: [(HTTPRequest.Method, String, String, String)] = [
                (.post, "/commands", #"{"target":"all","action":"level","level":20,"fadeSecs":3}"#, "fadeSecs"),
                (.post, "/lamps", #"[{"id":"new-1"},{"id":"new-2","watts":40}]"#, "[1].watts"),
                (.patch, "/lamps/lamp-1", #"{"name":"x","lat":1}"#, "lat"),
                (.post, "/groups", #"{"name":"g","colour":"red"}"#, "colour"),
                (.post, "/tokens", #"{"name":"t","role":"viewer","expires":"never"}"#, "expires"),
            ]
            for (method, path, body, field) in cases {
                let (status, error) = try await api.call(method, path, json: body, as: .admin, APIError.self)
                #expect(status == 400 && error?.field == field, "\(path): \(status) \(String(describing: error))")
            }
            // Nothing was done: no lamp registered, no group made, no command.
            #expect(try await api.call(.get, "/lamps/new-1", as: .admin, LampView.self).0 == 404)
            #expect(try await api.call(.get, "/groups/g", as: .admin, GroupView.self).0 == 404)
            // Known fields, and a null (read as absent), still pass.
            let (ok, _) = try await api.call(.post, "/commands", json: #"{"target":"all","action":"on","fadeSeconds":null}"#, as: .operator, CommandAccepted.self)
            #expect(ok == 202)
        }
    }
}
