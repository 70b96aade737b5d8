import FleetCore
import FleetStore
import Foundation
import LampAuth
import LampProtocol
import LampProtocolNIO
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import OperatorAPI
import Synchronization
import Testing

@testable import Controller

/// A lamp's events through the real link handler on in-memory channels (thread-safe testing
/// channels: the group commit answers from another task), with a manual clock:
/// stored once (SPEC.md §7.2), acknowledged only once stored.
@Suite("Lamp events", .serialized)
struct LampEventTests {
    static let fleetKey = FleetKey(hex: String(repeating: "22", count: 32))!
    static let lampID = LampID("lamp-0001")!

    /// A controller over a store (a real one unless the test passes another) and a lamp whose
    /// links are in-memory channels.
    final class Harness {
        let controller: FleetController
        let store: FlakyStore
        let clock = ManualClock()
        /// Each link's frame tags (SPEC.md §4.3), lamp side, and whether its welcome was read.
        private var links: [ObjectIdentifier: (frames: FrameAuthenticator, welcomed: Bool)] = [:]

        init() throws {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("events-\(UUID().uuidString).db").path
            let real = try FleetStore(path: path)
            try real.addLamps([LampRecord(id: LampEventTests.lampID)], atMilliseconds: 1)
            let fleet = FleetState(stored: try real.loadAll())
            store = FlakyStore(real)
            controller = FleetController(
                store: store, fleet: fleet, fleetKey: LampEventTests.fleetKey,
                gateway: GatewayConfiguration(host: "127.0.0.1", port: 0), clock: clock, logger: Logger(label: "test"))
        }

        /// A new link of the lamp, authenticated (its challenge and welcome read).
        func connect() async throws -> NIOAsyncTestingChannel {
            let channel = NIOAsyncTestingChannel()
            let shared = controller.gateway.shared
            try await channel.testingEventLoop.executeInContext {
                try channel.pipeline.syncOperations.addHandler(LampLinkHandler(shared: shared))
            }
            guard case .challenge(let challenge)? = try await messages(channel).first else { throw HarnessError() }
            var hello = Hello(
                lampID: LampEventTests.lampID, firmware: FirmwareVersion("t")!, capabilities: [.dimmable],
                appliedVersion: 0, configVersion: 1, programRevision: 0, clock: 0, clientNonce: Nonce.random(), mac: .zero)
            hello.mac = LampEventTests.fleetKey.lampKey(for: LampEventTests.lampID).helloMAC(for: hello, serverNonce: challenge.serverNonce)
            try await send(.hello(hello), on: channel)
            links[ObjectIdentifier(channel)] = (
                FrameAuthenticator(
                    lampKey: LampEventTests.fleetKey.lampKey(for: LampEventTests.lampID), role: .lamp, clientNonce: hello.clientNonce,
                    serverNonce: challenge.serverNonce),
                false
            )
            guard case .welcome? = try await messages(channel).first else { throw HarnessError() }
            return channel
        }

        /// Sends `message`, with the link's next frame tag once it is welcomed.
        func send(_ message: LampMessage, on channel: NIOAsyncTestingChannel) async throws {
            var bytes = message.bytes
            if links[ObjectIdentifier(channel)]?.welcomed == true { bytes = links[ObjectIdentifier(channel)]!.frames.sealed(bytes) }
            try await channel.writeInbound(clientFrameBytes(bytes))
        }

        /// Every protocol message the controller sent on `channel` since the last call, after
        /// running what other tasks handed to its event loop.
        func messages(_ channel: NIOAsyncTestingChannel) async throws -> [LampMessage] {
            await channel.testingEventLoop.run()
            var out: [LampMessage] = []
            var written: [ByteBuffer] = []
            while let buffer = try await channel.readOutbound(as: ByteBuffer.self) { written.append(buffer) }
            for frame in try decodeServerFrames(written) {
                guard frame.opcode == .binary else { continue }
                var bytes = Array(frame.unmaskedData.readableBytesView)
                if let link = links[ObjectIdentifier(channel)] {
                    if link.welcomed {
                        guard let length = links[ObjectIdentifier(channel)]!.frames.open(bytes) else { throw HarnessError() }
                        bytes.removeLast(bytes.count - length)
                    } else if bytes.first == MessageType.welcome.rawValue {
                        links[ObjectIdentifier(channel)]!.welcomed = true
                    }
                }
                out.append(try LampMessage.decode(bytes, peerMinorVersion: LampProtocolVersion.minor))
            }
            return out
        }

        /// The answers to events among `messages`.
        static func eventAnswers(_ messages: [LampMessage]) -> [LampMessage] {
            messages.filter {
                switch $0 {
                case .ack(let ack): ack.ackedType == .event
                case .nack(let nack): nack.ackedType == .event
                default: false
                }
            }
        }

        /// Commits the lamps' events waiting, as the committer's next turn would.
        func commit() async {
            await controller.eventCommitter.commit()
        }

        /// The lamp's stored events of `kind`, as `GET /api/v1/events?lamp=ID` lists them.
        func listed(kind: String = "fault.raised") async throws -> [OperatorEvent] {
            try await controller.service.events(lamp: LampEventTests.lampID, kind: kind, limit: 100).map {
                OperatorEvent(kind: $0.kind, detail: $0.detail)
            }
        }
    }

    struct OperatorEvent: Equatable {
        var kind: String
        var detail: String
    }

    struct HarnessError: Error {}

    static let fault = LampEvent(sequence: 41, kind: .faultRaised, detail: 0, time: 1_800_000_000)

    @Test("the same event back to back, 3 s apart and again on a new link is acknowledged each time and listed once")
    func duplicatesStoredOnce() async throws {
        let harness = try Harness()
        let first = try await harness.connect()
        try await harness.send(.event(Self.fault), on: first)
        try await harness.send(.event(Self.fault), on: first)
        await harness.commit()
        harness.clock.advance(milliseconds: 3000)
        try await harness.send(.event(Self.fault), on: first)
        await harness.commit()
        let onFirst = Harness.eventAnswers(try await harness.messages(first))
        // The lamp lost the acks and reconnects: it sends the event again on its new link.
        let second = try await harness.connect()
        try await harness.send(.event(Self.fault), on: second)
        await harness.commit()
        let onSecond = Harness.eventAnswers(try await harness.messages(second))
        let ack = LampMessage.ack(Ack(ackedType: .event, ref: 41))
        #expect(onFirst == [ack, ack, ack])
        #expect(onSecond == [ack])
        #expect(try await harness.listed() == [OperatorEvent(kind: "fault.raised", detail: "lampFailure")])
    }

    @Test("an event is acknowledged only after its commit, and published to the stream once")
    func noAckBeforeCommit() async throws {
        let harness = try Harness()
        let link = try await harness.connect()
        try await harness.send(.event(Self.fault), on: link)
        #expect(Harness.eventAnswers(try await harness.messages(link)).isEmpty)
        #expect(try await harness.listed().isEmpty)
        #expect(harness.controller.eventCommitter.pendingCount == 1)
        await harness.commit()
        #expect(Harness.eventAnswers(try await harness.messages(link)) == [.ack(Ack(ackedType: .event, ref: 41))])
        #expect(try await harness.listed().count == 1)
        #expect(harness.controller.gateway.counters.snapshot.eventsStored == 1)
    }

    @Test("a store that fails: the lamp is told busy and gets no ack; its resend after the store recovers is stored once")
    func failingStore() async throws {
        let harness = try Harness()
        let link = try await harness.connect()
        harness.store.failEvents = true
        try await harness.send(.event(Self.fault), on: link)
        await harness.commit()
        #expect(Harness.eventAnswers(try await harness.messages(link)) == [.nack(Nack(ackedType: .event, ref: 41, reason: .busy))])
        #expect(harness.controller.gateway.counters.snapshot.eventsRefused == 1)
        #expect(harness.controller.eventCommitter.pendingCount == 0)
        harness.store.failEvents = false
        try await harness.send(.event(Self.fault), on: link)
        await harness.commit()
        #expect(Harness.eventAnswers(try await harness.messages(link)) == [.ack(Ack(ackedType: .event, ref: 41))])
        #expect(try await harness.listed().count == 1)
    }

    @Test("an event committed after its link closed is not answered on any link; the resend on the next link is acked")
    func linkGoneBeforeCommit() async throws {
        let harness = try Harness()
        let first = try await harness.connect()
        try await harness.send(.event(Self.fault), on: first)
        let second = try await harness.connect()
        _ = try await harness.messages(first)
        await harness.commit()
        #expect(Harness.eventAnswers(try await harness.messages(first)).isEmpty)
        #expect(Harness.eventAnswers(try await harness.messages(second)).isEmpty)
        try await harness.send(.event(Self.fault), on: second)
        await harness.commit()
        #expect(Harness.eventAnswers(try await harness.messages(second)) == [.ack(Ack(ackedType: .event, ref: 41))])
        #expect(try await harness.listed().count == 1)
    }

    @Test("beyond the pending limit an event is refused at once")
    func boundedQueue() async throws {
        let harness = try Harness()
        let committer = LampEventCommitter(
            store: harness.store, events: harness.controller.events, counters: GatewayCounters(), metrics: ControllerMetrics(),
            maximumPending: 2, logger: Logger(label: "test"))
        let answers = AnswerLog()
        for sequence in UInt32(1)...3 {
            let queued = committer.submit(
                .lamp(Self.lampID, LampEvent(sequence: sequence, kind: .powerUp, detail: 1, time: 5)), slot: 0, atMilliseconds: 1
            ) { answers.add(sequence, $0) }
            #expect(queued == (sequence <= 2))
        }
        await committer.commit()
        #expect(answers.stored == [1, 2])
    }

    @Test("the group commit runs within its interval of the first event, without a call from outside")
    func commitsOnItsOwn() async throws {
        let harness = try Harness()
        let committer = harness.controller.eventCommitter
        let link = try await harness.connect()
        let clock = ContinuousClock()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await committer.run() }
            let sent = clock.now
            try await harness.send(.event(Self.fault), on: link)
            while harness.store.eventWrites == 0 && clock.now - sent < .seconds(5) {
                try await Task.sleep(for: .milliseconds(1))
            }
            let latency = clock.now - sent
            print("event commit latency: \(latency) (interval \(committer.commitInterval))")
            #expect(latency >= committer.commitInterval && latency < .seconds(1))
            group.cancelAll()
        }
        #expect(Harness.eventAnswers(try await harness.messages(link)) == [.ack(Ack(ackedType: .event, ref: 41))])
    }
}

/// The answers a committer gave, by sequence.
final class AnswerLog: Sendable {
    private let storedSequences = Mutex<[UInt32]>([])

    func add(_ sequence: UInt32, _ outcome: LampEventCommitter.Outcome) {
        if case .stored = outcome { storedSequences.withLock { $0.append(sequence) } }
    }

    var stored: [UInt32] { storedSequences.withLock { $0.sorted() } }
}
