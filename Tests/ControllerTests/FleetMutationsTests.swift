import FleetCore
import FleetStore
import Foundation
import LampProtocol
import OperatorAPI
import Synchronization
import Testing

@testable import Controller

/// Changes of lamps, groups and programs reach the store and the fleet model in one order
/// (issue 11, problem 7).
@Suite("Store and memory change together", .serialized)
struct FleetMutationsTests {
    static let caller = Caller(name: "test", role: .admin)

    /// A fleet whose store answers each group write after a short random delay (as a network
    /// database does: durable first, the reply later), which widens the window between a
    /// write and its change in memory without changing what either does.
    static func jitteredFleet(lamps: Int) async throws -> InProcessFleet {
        try await InProcessFleet(lamps: lamps) { real in
            let store = FlakyStore(real)
            store.replyJitter = true
            return store
        }
    }

    /// The lamps in group `name` as the store holds them, and as the model in memory does.
    static func members(_ name: String, _ fleet: InProcessFleet) async throws -> (stored: Set<String>, inMemory: Set<String>) {
        let stored = try await fleet.controller.store.loadAll().filter { $0.record.groups.contains(name) }.map(\.record.id.value)
        let inMemory = fleet.controller.fleet.withEntries { entries in
            entries.filter { !$0.removed && $0.record.groups.contains(name) }.map(\.record.id.value)
        }
        return (Set(stored), Set(inMemory))
    }

    @Test("2,000 concurrent add/remove edits of one group, 20 at a time from 20 tasks: after every round store and memory agree; a command reaches exactly the stored members")
    func concurrentMemberEdits() async throws {
        let fleet = try await Self.jitteredFleet(lamps: 21)
        let service = fleet.controller.service
        _ = try await service.createGroup(GroupCreate(name: "g"), by: Self.caller)
        // One member no edit touches: the group is never empty at the end.
        _ = try await service.changeMembers(of: "g", GroupMembersChange(add: ["lamp-21"]), by: Self.caller)
        // A later edit of a lamp repairs a disagreement about it, so the two are compared
        // after every round of 20 concurrent edits of 3 lamps, not only at the end.
        var disagreements: [String] = []
        for round in 0..<100 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let id = "lamp-\(Int.random(in: 1...3))"
                        let change = Bool.random() ? GroupMembersChange(add: [id]) : GroupMembersChange(remove: [id])
                        _ = try await service.changeMembers(of: "g", change, by: Self.caller)
                    }
                }
                try await group.waitForAll()
            }
            let (stored, inMemory) = try await Self.members("g", fleet)
            if stored != inMemory {
                disagreements.append("round \(round): store \(stored.sorted()), memory \(inMemory.sorted())")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) of 100 rounds: \(disagreements.prefix(3))")
        let (stored, _) = try await Self.members("g", fleet)

        let accepted = try await service.command(CommandRequest(target: "group:g", action: "level", level: 42), by: Self.caller)
        let version = try #require(try await fleet.controller.store.command(accepted.id)).version
        let reachedInStore = try await fleet.controller.store.loadAll().filter { $0.desired.control.version == version }.map(\.record.id.value)
        let reachedInMemory = fleet.controller.fleet.withEntries { entries in
            entries.filter { $0.desired.control.version == version }.map(\.record.id.value)
        }
        #expect(accepted.lamps == stored.count)
        #expect(Set(reachedInStore) == stored)
        #expect(Set(reachedInMemory) == stored)
    }

    @Test("a group deleted while members are added concurrently is gone from the store and from memory alike")
    func deleteDuringEdits() async throws {
        let fleet = try await Self.jitteredFleet(lamps: 10)
        let service = fleet.controller.service
        for round in 0..<20 {
            _ = try await service.createGroup(GroupCreate(name: "g\(round)"), by: Self.caller)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lamp in 1...10 {
                    group.addTask {
                        _ = try? await service.changeMembers(of: "g\(round)", GroupMembersChange(add: ["lamp-\(lamp)"]), by: Self.caller)
                    }
                }
                group.addTask { try await service.deleteGroup("g\(round)", by: Self.caller) }
                try await group.waitForAll()
            }
            let (stored, inMemory) = try await Self.members("g\(round)", fleet)
            #expect(stored.isEmpty && inMemory.isEmpty, "round \(round): store \(stored.sorted()), memory \(inMemory.sorted())")
        }
    }

    @Test("the lock: changes run alone and in arrival order; commands run together but never beside a change")
    func lockOrder() async throws {
        let mutations = FleetMutations()
        let log = LogBox()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    if index % 5 == 0 {
                        await mutations.exclusive { () async in
                            log.enter(exclusive: true)
                            await Task.yield()
                            log.leave(exclusive: true)
                        }
                    } else {
                        await mutations.shared { () async in
                            log.enter(exclusive: false)
                            await Task.yield()
                            log.leave(exclusive: false)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(log.violations == 0)
        #expect(log.finished == 200)
    }
}

/// Who is inside the lock, and every time the rules were broken.
final class LogBox: Sendable {
    private struct Counts {
        var shared = 0
        var exclusive = 0
        var violations = 0
        var finished = 0
    }

    private let counts = Mutex(Counts())

    var violations: Int { counts.withLock { $0.violations } }
    var finished: Int { counts.withLock { $0.finished } }

    func enter(exclusive isExclusive: Bool) {
        counts.withLock { counts in
            if isExclusive {
                if counts.shared > 0 || counts.exclusive > 0 { counts.violations += 1 }
                counts.exclusive += 1
            } else {
                if counts.exclusive > 0 { counts.violations += 1 }
                counts.shared += 1
            }
        }
    }

    func leave(exclusive isExclusive: Bool) {
        counts.withLock { counts in
            if isExclusive { counts.exclusive -= 1 } else { counts.shared -= 1 }
            counts.finished += 1
        }
    }
}

/// Figures for the command path, run by hand: `LAMPLIGHTER_BENCH=1 swift test --filter CommandPathFigures`.
@Suite("Command path figures", .enabled(if: ProcessInfo.processInfo.environment["LAMPLIGHTER_BENCH"] != nil))
struct CommandPathFigures {
    @Test("commands through the service, one after another and 8 at a time; the lock's own cost")
    func figures() async throws {
        let fleet = try await InProcessFleet(lamps: 1000)
        let service = fleet.controller.service
        let caller = Caller(name: "bench", role: .admin)
        let clock = ContinuousClock()
        let count = 400
        var started = clock.now
        for index in 0..<count {
            _ = try await service.command(CommandRequest(target: "group:even", action: "level", level: Double(index % 100)), by: caller)
        }
        let sequential = (clock.now - started) / count
        started = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<(count / 8) {
                        _ = try await service.command(
                            CommandRequest(target: "lamp:lamp-\(task * 100 + index + 1)", action: "on"), by: caller)
                    }
                }
            }
            try await group.waitForAll()
        }
        let concurrent = (clock.now - started) / count
        let mutations = FleetMutations()
        let rounds = 1_000_000
        started = clock.now
        for _ in 0..<rounds {
            await mutations.shared { () async in }
        }
        let lock = (clock.now - started) / rounds
        print("command path: \(sequential) per command one at a time, \(concurrent) per command 8 at a time; shared lock uncontended: \(lock)")
    }
}
