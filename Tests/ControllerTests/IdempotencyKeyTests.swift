import FleetCore
import FleetStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OperatorAPI
import Testing

@testable import Controller

/// `Idempotency-Key` on `POST /api/v1/commands` (issue 11, problem 8), through the real router.
@Suite("Idempotency-Key on commands", .serialized)
struct IdempotencyKeyTests {
    struct Answer: Sendable {
        var status: Int
        var body: Data
        var replayed: Bool
        var accepted: CommandAccepted? { try? APICoding.decoder().decode(CommandAccepted.self, from: body) }
        var error: APIError? { try? APICoding.decoder().decode(APIError.self, from: body) }
    }

    /// Runs `body` with a function that posts a command (JSON text) with a key, as a role.
    static func withPoster(
        _ fleet: InProcessFleet, _ body: @escaping @Sendable (@escaping @Sendable (String, String?, Role) async throws -> Answer) async throws -> Void
    ) async throws {
        let app = Application(router: OperatorHTTPServer.router(service: fleet.controller.service, metrics: { "" }))
        try await app.test(.router) { client in
            try await body { json, key, role in
                var headers: HTTPFields = [.contentType: "application/json", .authorization: "Bearer \(fleet.tokens[role] ?? "")"]
                if let key { headers[HTTPField.Name(IdempotencyKey.headerName)!] = key }
                let response = try await client.execute(
                    uri: "/api/v1/commands", method: .post, headers: headers, body: ByteBuffer(string: json))
                return Answer(
                    status: Int(response.status.code), body: Data(response.body.readableBytesView),
                    replayed: response.headers[HTTPField.Name(IdempotencyKey.replayedHeaderName)!] == "true")
            }
        }
    }

    static let dim = #"{"target": "all", "action": "level", "level": 30}"#

    /// How many commands the store holds.
    static func commandCount(_ fleet: InProcessFleet) async throws -> Int {
        var count = 0
        while try await fleet.controller.store.command(Int64(count + 1)) != nil { count += 1 }
        return count
    }

    @Test("the same key twice: one command; the retry gets the same 202 body, marked as a replay")
    func sameKeyTwice() async throws {
        let fleet = try await InProcessFleet(lamps: 4)
        try await Self.withPoster(fleet) { post in
            let first = try await post(Self.dim, "retry-1", .operator)
            // The same request spelled differently is the same request.
            let again = try await post(#"{"level":30.0,"action":"level","target":"all"}"#, "retry-1", .operator)
            #expect(first.status == 202 && !first.replayed)
            #expect(again.status == 202 && again.replayed)
            #expect(again.body == first.body)
            #expect(try await Self.commandCount(fleet) == 1)
            #expect(fleet.controller.fleet.withEntries { $0.map(\.desired.control.version) } == [1, 1, 1, 1])
            // Keys are per token: another caller's same key is its own.
            let other = try await post(Self.dim, "retry-1", .admin)
            #expect(other.status == 202 && !other.replayed && other.accepted?.id == 2)
        }
    }

    @Test("the same key with another request is refused with 422 and names the key")
    func sameKeyOtherRequest() async throws {
        let fleet = try await InProcessFleet(lamps: 2)
        try await Self.withPoster(fleet) { post in
            #expect(try await post(Self.dim, "k", .operator).status == 202)
            let other = try await post(#"{"target": "all", "action": "off"}"#, "k", .operator)
            #expect(other.status == 422)
            #expect(other.error?.field == IdempotencyKey.headerName && other.error?.error.contains("another request") == true)
            #expect(try await Self.commandCount(fleet) == 1)
        }
    }

    @Test("a key must be 1 to 255 printable ASCII characters", arguments: ["", String(repeating: "k", count: 256), "two words", "schlüssel"])
    func invalidKey(_ key: String) async throws {
        let fleet = try await InProcessFleet(lamps: 1)
        try await Self.withPoster(fleet) { post in
            let answer = try await post(Self.dim, key, .operator)
            #expect(answer.status == 400 && answer.error?.field == IdempotencyKey.headerName)
            #expect(try await Self.commandCount(fleet) == 0)
        }
        #expect(IdempotencyKey.isValid(String(repeating: "k", count: 255)) && IdempotencyKey.isValid("a-b_c.d:1~"))
    }

    @Test("20 concurrent requests with one key make one command; every answer names it")
    func concurrentSameKey() async throws {
        let fleet = try await InProcessFleet(lamps: 50)
        try await Self.withPoster(fleet) { post in
            let answers = try await withThrowingTaskGroup(of: Answer.self) { group in
                for _ in 0..<20 { group.addTask { try await post(Self.dim, "burst", .operator) } }
                return try await group.reduce(into: [Answer]()) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.status == 202 })
            #expect(Set(answers.compactMap { $0.accepted?.id }) == [1])
            #expect(answers.filter { !$0.replayed }.count == 1)
            #expect(try await Self.commandCount(fleet) == 1)
        }
    }

    @Test("a key is kept 24 hours: after that the same key makes a new command")
    func retention() async throws {
        let fleet = try await InProcessFleet(lamps: 1)
        try await Self.withPoster(fleet) { post in
            #expect(try await post(Self.dim, "daily", .operator).accepted?.id == 1)
            fleet.clock.advance(milliseconds: IdempotencyClaim.retentionMilliseconds - 1)
            #expect(try await post(Self.dim, "daily", .operator).replayed)
            fleet.clock.advance(milliseconds: 2)
            let later = try await post(Self.dim, "daily", .operator)
            #expect(!later.replayed && later.accepted?.id == 2)
        }
    }
}
