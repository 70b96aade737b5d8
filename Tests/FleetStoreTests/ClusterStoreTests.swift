import FleetCore
import Foundation
import LampProtocol
import PostgresStore
import Testing

/// Several controllers on one PostgreSQL database (issue 14 b, docs/cluster.md): the shared
/// version counter, notices, the catch-up's read.
@Suite("Cluster store", .enabled(if: Backend.postgresURL != nil))
struct ClusterStoreTests {
    @Test("four stores on one database allocating at once never hand out the same version, and all are above the highest stored")
    func sharedVersions() async throws {
        try await TestDatabase.with(.postgres) { database in
            let first = try #require(try await database.open() as? PostgresStore)
            let lamp = try #require(LampID("lamp-1"))
            try await first.addLamps([LampRecord(id: lamp)], config: .initial, atMilliseconds: 1)
            // A version written before the counter knew of it (a single-instance reissue):
            // the next store to open raises the counter past it.
            _ = try await first.recordCommand(
                target: .all, control: DesiredControl(version: 500, intent: .level(Level(permille: 100)!), fade: .immediate),
                action: .level(Level(permille: 100)!, fade: .immediate), audit: nil, atMilliseconds: 2)
            var stores: [PostgresStore] = []
            for _ in 0..<4 { stores.append(try #require(try await database.open() as? PostgresStore)) }
            let perStore = 200
            let versions = try await withThrowingTaskGroup(of: [UInt32].self) { group in
                for store in stores {
                    group.addTask {
                        var taken: [UInt32] = []
                        for _ in 0..<perStore { taken.append(try await store.allocateControlVersion()) }
                        return taken
                    }
                }
                return try await group.reduce(into: [UInt32]()) { $0 += $1 }
            }
            #expect(versions.count == 4 * perStore)
            #expect(Set(versions).count == versions.count, "a version was handed out twice")
            #expect(versions.min()! > 500)
            // A store opened now does not lower the counter.
            let late = try #require(try await database.open() as? PostgresStore)
            #expect(try await late.allocateControlVersion() > versions.max()!)
            for store in stores + [first, late] { await store.close() }
        }
    }

    @Test("a notice sent by one store reaches another's LISTEN; the catch-up reads the recent commands")
    func noticesAndCatchUp() async throws {
        try await TestDatabase.with(.postgres) { database in
            let sender = try #require(try await database.open() as? PostgresStore)
            let listener = try #require(try await database.open() as? PostgresStore)
            let (listening, listeningContinuation) = AsyncStream<Void>.makeStream()
            let (received, receivedContinuation) = AsyncStream<ClusterNotice>.makeStream()
            let task = Task {
                try await listener.listen(listening: { listeningContinuation.yield() }) { receivedContinuation.yield($0) }
            }
            for await _ in listening { break }
            let many = (1...900).map { ClusterNotice.LampApplied(lamp: LampID("lamp-\($0)")!, version: UInt32($0)) }
            try await sender.announce(.command(instance: "a", id: 7))
            try await sender.announce(.applied(instance: "a", many))
            var got: [ClusterNotice] = []
            var lamps = 0
            for await notice in received {
                got.append(notice)
                if case .applied(_, let entries) = notice { lamps += entries.count }
                if lamps == many.count { break }
            }
            #expect(got.first == .command(instance: "a", id: 7))
            #expect(got.count > 2, "900 lamps fit in no single payload")
            task.cancel()
            let lamp = try #require(LampID("lamp-1"))
            try await sender.addLamps([LampRecord(id: lamp)], config: .initial, atMilliseconds: 1)
            let version = try await sender.allocateControlVersion()
            let old = try await sender.recordCommand(
                target: .all, control: DesiredControl(version: version, intent: .switched(on: true), fade: .immediate),
                action: .switched(on: true, fade: .immediate), audit: nil, atMilliseconds: 1_000)
            let recent = try await sender.recordCommand(
                target: .group("g"), control: nil, action: .identify(seconds: 5), audit: nil, atMilliseconds: 5_000)
            let read = try await listener.commands(createdSince: 2_000)
            #expect(read.map(\.id) == [recent] && read.first?.target == .group("g") && read.first?.action == .identify(seconds: 5))
            #expect(try await listener.commands(createdSince: 0).map(\.id) == [old, recent])
            await sender.close()
            await listener.close()
        }
    }

    @Test("lamp ownership: a claim (numbered in order) takes a lamp from another instance; a release only frees one's own; a lapsed lease is removed by any heartbeat; ownerships live as long as their instance's lease")
    func ownership() async throws {
        try await TestDatabase.with(.postgres) { database in
            let store = try #require(try await database.open() as? PostgresStore)
            let (one, two, three) = (LampID("lamp-1")!, LampID("lamp-2")!, LampID("lamp-3")!)
            let first = try await store.claimLamps([one, two], instance: "a", leaseUntil: 10_000)
            let second = try await store.claimLamps([two, three, three], instance: "b", leaseUntil: 10_000)
            // One number per claim, in the order written: a notice of the first is older.
            #expect(first > 0 && second > first)
            #expect(try await store.owners([one, two, three]) == [one: "a", two: "b", three: "b"])
            #expect(Set(try await store.lampsHeld(notBy: "a")) == [two, three])
            #expect(try await store.lampsHeld(notBy: "b") == [one])
            #expect(try await store.releaseLamps([two], instance: "a") == [])  // b holds it now: stays
            #expect(try await store.owners([two]) == [two: "b"])
            #expect(try await store.releaseLamps([three], instance: "b") == [three])
            #expect(try await store.owners([three]).isEmpty)
            // a renews to 30 s at 9 s; b does not: at 20 s, b's lamps are gone, a's stay.
            #expect(try await store.heartbeat(instance: "a", startedAt: 0, now: 9_000, leaseUntil: 30_000) == [])
            #expect(try await store.heartbeat(instance: "a", startedAt: 0, now: 20_000, leaseUntil: 35_000) == [two])
            #expect(try await store.owners([one, two, three]) == [one: "a"])
            #expect(try await store.lampsHeld(notBy: "a") == [])
            // lamp-1's own lease (10 s, from its claim) lapsed long ago: it lives as long as a's
            // lease (35 s), which no row renewal copies onto it. At 40 s another heartbeat
            // removes it.
            #expect(try await store.heartbeat(instance: "c", startedAt: 0, now: 34_000, leaseUntil: 50_000) == [])
            #expect(try await store.heartbeat(instance: "c", startedAt: 0, now: 40_000, leaseUntil: 55_000) == [one])
            #expect(try await store.owners([one]).isEmpty)
            await store.close()
        }
    }
    @Test("the event history read past an id: each row with the controller that wrote it; a skipped id is asked for again")
    func followEvents() async throws {
        try await TestDatabase.with(.postgres) { database in
            let a = try #require(try await database.open() as? PostgresStore)
            let b = try #require(try await database.open() as? PostgresStore)
            #expect(a.instance != b.instance)
            let start = try await a.lastEventID()
            let lamp = try #require(LampID("lamp-1"))
            _ = try await a.appendEvents([EventRecord(lampID: lamp, kind: "online", detail: "firmware 1", atMilliseconds: 10)])
            _ = try await b.appendEvents([
                EventRecord(lampID: lamp, kind: "fault.raised", detail: "lampFailure", atMilliseconds: 11, lampEvent: LampEventIdentity(sequence: 1, lampTime: 5))
            ])
            let rows = try await a.events(after: start, gaps: [], limit: 10)
            #expect(rows.map(\.record.kind) == ["online", "fault.raised"])
            #expect(rows.map(\.instance) == [a.instance, b.instance])
            #expect(rows[1].record.lampEvent == LampEventIdentity(sequence: 1, lampTime: 5))
            let last = try #require(rows.last?.record.id)
            #expect(try await a.lastEventID() == last)
            #expect(try await a.events(after: last, gaps: [], limit: 10).isEmpty)
            // Past the end, but asked for by id: the gap's row comes back.
            #expect(try await a.events(after: last, gaps: [last - 1], limit: 10).map(\.record.kind) == ["online"])
            #expect(try await a.events(after: start, gaps: [], limit: 1).count == 1)
            await a.close()
            await b.close()
        }
    }
    @Test("a desired state issued again at a version of the controller's own sequence raises the shared counter past it: the next command's version is higher")
    func reissueRaisesCounter() async throws {
        try await TestDatabase.with(.postgres) { database in
            let store = try #require(try await database.open() as? PostgresStore)
            let lamp = try #require(LampID("lamp-1"))
            try await store.addLamps([LampRecord(id: lamp)], config: .initial, atMilliseconds: 1)
            let before = try await store.allocateControlVersion()
            var desired = try #require(try await store.lamp(lamp)).desired
            desired.control.version = before + 500
            try await store.reissueDesired(lamp, desired, atMilliseconds: 2)
            #expect(try await store.allocateControlVersion() == before + 501)
            // One behind the counter lowers nothing.
            try await store.reissueDesired(lamp, desired, atMilliseconds: 3)
            #expect(try await store.allocateControlVersion() == before + 502)
            await store.close()
        }
    }
}
