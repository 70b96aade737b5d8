import FleetCore
import FleetStore
import Foundation
import HTTPTypes
import LampAuth
import Logging
import OperatorAPI
import Testing

@testable import Controller

/// Issue 12: each API request read its token from SQLite. Tokens now come from memory, in
/// step with the store; revocation through the API counts from the next request.
@Suite("Token cache", .serialized)
struct TokenCacheTests {
    @Test("100 requests read the token table once; a token revoked through the API gets 401 on its next request")
    func cachedAndRevoked() async throws {
        let flaky = FlakyBox()
        let fleet = try await InProcessFleet(lamps: 1, store: { real in flaky.set(FlakyStore(real)) })
        let store = try #require(flaky.store)
        try await fleet.withClient { api in
            for _ in 0..<100 {
                let (status, _) = try await api.call(.get, "/lamps", as: .viewer, LampPage.self)
                #expect(status == 200)
            }
            #expect(store.tokenReads == 1)
            let (revoked, _) = try await api.call(.delete, "/tokens/viewer", as: .admin, String.self)
            #expect(revoked == 204)
            let (after, _) = try await api.call(.get, "/lamps", as: .viewer, LampPage.self)
            #expect(after == 401)
            // Garbage and unknown tokens do not read the table at each request either.
            let reads = store.tokenReads
            for _ in 0..<100 {
                let (status, _) = try await api.call(.get, "/lamps", token: APIToken.generate(), LampPage.self)
                #expect(status == 401)
            }
            #expect(store.tokenReads <= reads + 1)
        }
    }

    @Test("tokens made and revoked by another process (lamplighterd token): a new one works at once, a revoked one stops within a second")
    func otherProcess() async throws {
        let fleet = try await InProcessFleet(lamps: 1)
        let store = try #require(fleet.controller.store as? FleetStore)
        try await fleet.withClient { api in
            #expect(try await api.call(.get, "/lamps", as: .viewer, LampPage.self).0 == 200)
            fleet.clock.advance(milliseconds: 200)
            let made = try await FleetService.issueToken(
                TokenCreate(name: "cli", role: "viewer"), store: store, by: Caller(name: "command line", role: .admin),
                atMilliseconds: 2, logger: .init(label: "test"))
            #expect(try await api.call(.get, "/lamps", token: made.token, LampPage.self).0 == 200)
            _ = try store.revokeToken(named: "cli", audit: FleetService.entry(
                Caller(name: "command line", role: .admin), "token.revoke", target: "cli", detail: "", atMilliseconds: 3))
            fleet.clock.advance(milliseconds: TokenCache.maximumAgeMilliseconds)
            #expect(try await api.call(.get, "/lamps", token: made.token, LampPage.self).0 == 401)
        }
    }

    @Test("a token table read that never answers delays a request at most TokenCache.refreshWait once a table was read: the stale table answers")
    func storeWithoutAnswer() async throws {
        let flaky = FlakyBox()
        let fleet = try await InProcessFleet(lamps: 1, store: { real in flaky.set(FlakyStore(real)) })
        let store = try #require(flaky.store)
        try await fleet.withClient { api in
            let first = try await api.call(.get, "/lamps", as: .viewer, LampPage.self).0
            #expect(first == 200)
            store.hangTokenReads = true
            defer { store.hangTokenReads = false }
            fleet.clock.advance(milliseconds: TokenCache.maximumAgeMilliseconds)
            let clock = ContinuousClock()
            for _ in 0..<3 {
                let started = clock.now
                let status = try await api.call(.get, "/lamps", as: .viewer, LampPage.self).0
                #expect(status == 200)
                let took = clock.now - started
                #expect(took >= TokenCache.refreshWait - .milliseconds(50) && took < TokenCache.refreshWait + .seconds(1), "\(took)")
            }
        }
    }

    @Test("after a token change through the API, a token table read that never answers still delays the next request at most TokenCache.refreshWait", .timeLimit(.minutes(1)))
    func storeWithoutAnswerAfterChange() async throws {
        let flaky = FlakyBox()
        let fleet = try await InProcessFleet(lamps: 1, store: { real in flaky.set(FlakyStore(real)) })
        let store = try #require(flaky.store)
        try await fleet.withClient { api in
            #expect(try await api.call(.get, "/lamps", as: .viewer, LampPage.self).0 == 200)
            store.hangTokenReads = true
            defer { store.hangTokenReads = false }
            // A revocation through the API (its write does not read the table) marks the
            // cache changed; the next request used to wait for the read without end.
            let (revoked, _) = try await api.call(.delete, "/tokens/operator", as: .admin, String.self)
            #expect(revoked == 204)
            let clock = ContinuousClock()
            let started = clock.now
            #expect(try await api.call(.get, "/lamps", as: .viewer, LampPage.self).0 == 200)
            #expect(clock.now - started < TokenCache.refreshWait + .seconds(1), "\(clock.now - started)")
        }
    }

    @Test("the one comparison of secrets: equal bytes match, any differing byte or length does not")
    func constantTimeComparison() {
        let hash = APIToken.hash(APIToken.generate())
        #expect(ConstantTime.equal(hash, hash))
        for index in hash.indices {
            var other = hash
            other[index] ^= 0x01
            #expect(!ConstantTime.equal(hash, other))
        }
        #expect(!ConstantTime.equal(hash, Array(hash.dropLast())))
        #expect(!ConstantTime.equal([], [0]))
        // The cache finds a token only through it.
        let record = TokenRecord(name: "a", role: "viewer", hash: hash, createdAtMilliseconds: 1, createdBy: "t")
        #expect(TokenCache.find(hash, in: [record])?.name == "a")
        #expect(TokenCache.find(APIToken.hash(APIToken.generate()), in: [record]) == nil)
    }
}

/// Hands the test the FlakyStore the fleet was built with.
final class FlakyBox: @unchecked Sendable {
    private(set) var store: FlakyStore?
    func set(_ store: FlakyStore) -> FlakyStore {
        self.store = store
        return store
    }
}
