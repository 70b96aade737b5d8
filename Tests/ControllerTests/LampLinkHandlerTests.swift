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
import Testing

@testable import Controller

/// The lamp link handler on an in-memory channel: limits, close codes and fragments, with no
/// sockets.
@Suite("Lamp link handler", .serialized)
struct LampLinkHandlerTests {
    static let fleetKey = FleetKey(hex: String(repeating: "11", count: 32))!
    static let lampID = LampID("lamp-0001")!

    final class Harness {
        let channel: EmbeddedChannel
        let shared: GatewayShared
        let clock = ManualClock()
        /// The lamp's side of the frame tags (SPEC.md §4.3), once authenticated at minor 2.
        var frames: FrameAuthenticator?
        /// Whether the welcome was read (frames after it carry tags).
        private var welcomed = false
        /// The minor of the lamp's hello: the layout of the controller's welcome.
        private var minorVersion = LampProtocolVersion.minor

        init(deadlineMilliseconds: UInt64 = 5000, maximumPendingHandshakes: Int = 2048, minimumLampMinor: UInt8 = 0) throws {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("link-\(UUID().uuidString).db").path
            let store = try FleetStore(path: path)
            try store.addLamps([LampRecord(id: LampLinkHandlerTests.lampID)], atMilliseconds: 1)
            let fleet = FleetState(stored: try store.loadAll())
            var configuration = GatewayConfiguration(host: "127.0.0.1", port: 0)
            configuration.handshakeDeadlineMilliseconds = deadlineMilliseconds
            configuration.maximumPendingHandshakes = maximumPendingHandshakes
            configuration.minimumLampMinorVersion = minimumLampMinor
            let controller = FleetController(
                store: store, fleet: fleet, fleetKey: LampLinkHandlerTests.fleetKey, gateway: configuration, clock: clock,
                logger: Logger(label: "test"))
            shared = controller.gateway.shared
            channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(LampLinkHandler(shared: shared))
        }

        /// Every close code the controller sent, in order (recorded by `outbound`).
        private(set) var closes: [UInt16] = []

        func outbound() throws -> [WebSocketFrame] {
            var frames: [WebSocketFrame] = []
            for frame in try serverFrames(channel) {
                frames.append(frame)
                if frame.opcode == .connectionClose, var data = Optional(frame.unmaskedData), let code = data.readInteger(as: UInt16.self) {
                    closes.append(code)
                }
            }
            return frames
        }

        /// The controller's messages; after the welcome, each one's tag is checked (a wrong
        /// one throws) and removed.
        func messages() throws -> [LampMessage] {
            try outbound().filter { $0.opcode == .binary }.map { frame in
                let bytes = Array(frame.unmaskedData.readableBytesView)
                guard frames != nil, welcomed else {
                    if bytes.first == MessageType.welcome.rawValue { welcomed = true }
                    return try LampMessage.decode(bytes, peerMinorVersion: minorVersion)
                }
                guard let length = frames!.open(bytes) else { throw HarnessError() }
                return try LampMessage.decode(Array(bytes[0..<length]), peerMinorVersion: LampProtocolVersion.minor)
            }
        }

        /// Sends `message` with the next frame tag.
        func sendSealed(_ message: LampMessage) throws {
            try send(frames!.sealed(message.bytes))
        }

        /// The last close code the controller sent, if any.
        func closeCode() throws -> UInt16? {
            _ = try outbound()
            return closes.last
        }

        func send(_ bytes: [UInt8], opcode: WebSocketOpcode = .binary, fin: Bool = true) throws {
            try channel.writeInbound(clientFrameBytes(bytes, opcode: opcode, fin: fin))
        }

        /// Reads the challenge and answers with a valid hello, in `pieces` fragments.
        func authenticate(pieces: Int = 1, minorVersion: UInt8 = LampProtocolVersion.minor) throws -> [LampMessage] {
            let bytes = try helloBytes(minorVersion: minorVersion)
            let size = (bytes.count + pieces - 1) / pieces
            for index in 0..<pieces {
                let part = Array(bytes[min(bytes.count, index * size)..<min(bytes.count, (index + 1) * size)])
                try send(part, opcode: index == 0 ? .binary : .continuation, fin: index == pieces - 1)
            }
            return try messages()
        }

        /// Reads the challenge and makes the valid hello that answers it (and the lamp's side
        /// of the frame tags it sets up).
        func helloBytes(minorVersion: UInt8 = LampProtocolVersion.minor) throws -> [UInt8] {
            guard case .challenge(let challenge)? = try messages().first else { throw HarnessError() }
            self.minorVersion = minorVersion
            var hello = Hello(
                minorVersion: minorVersion, lampID: LampLinkHandlerTests.lampID, firmware: FirmwareVersion("t")!, capabilities: [.dimmable],
                appliedVersion: 0, configVersion: 1, programRevision: 0, clock: 0, clientNonce: Nonce.random(), mac: .zero)
            hello.mac = LampLinkHandlerTests.fleetKey.lampKey(for: LampLinkHandlerTests.lampID).helloMAC(
                for: hello, serverNonce: challenge.serverNonce)
            let bytes = LampMessage.hello(hello).bytes
            if minorVersion >= 2 {
                frames = FrameAuthenticator(
                    lampKey: LampLinkHandlerTests.fleetKey.lampKey(for: LampLinkHandlerTests.lampID), role: .lamp,
                    clientNonce: hello.clientNonce, serverNonce: challenge.serverNonce)
            }
            return bytes
        }

        /// Authenticates and acknowledges the config request the welcome brings: the lamp is
        /// linked and idle. Its config version, or nil (with an issue recorded) if no config
        /// request came.
        func linkAndAcknowledgeConfig() throws -> UInt32? {
            guard case .config(let config)? = try authenticate().last else {
                Issue.record("no config request after the welcome")
                return nil
            }
            try sendSealed(.ack(Ack(ackedType: .config, ref: config.configVersion)))
            return config.configVersion
        }

        /// Commits a level for the lamp in the fleet model, as a command would; its desired state.
        func commitLevel(_ permille: Int) -> DesiredState {
            shared.fleet.withModel { model -> DesiredState in
                let slot = model.slot(of: LampLinkHandlerTests.lampID)!
                let control = DesiredControl(version: model.nextVersion(), intent: .level(Level(permille: permille)!), fade: .immediate)
                return model.commit([slot], control: control, atMilliseconds: 10)[0].1
            }
        }

        /// Whether `replies` start with the welcome and the lamp is linked.
        func expectWelcomed(_ replies: [LampMessage]) {
            guard case .welcome? = replies.first else {
                Issue.record("no welcome: \(replies)")
                return
            }
            #expect(shared.registry.count == 1)
        }
    }

    struct HarnessError: Error {}

    @Test("a hello in three fragments is reassembled and welcomed")
    func fragmentedHello() throws {
        let harness = try Harness()
        harness.expectWelcomed(try harness.authenticate(pieces: 3))
    }

    @Test("more than 16 fragments close the link with 1009")
    func tooManyFragments() throws {
        let harness = try Harness()
        _ = try harness.outbound()
        try harness.send([0x02], opcode: .binary, fin: false)
        for _ in 0..<16 {
            try harness.send([0x00], opcode: .continuation, fin: false)
        }
        #expect(try harness.closeCode() == LampCloseCode.messageTooBig)
    }

    @Test("a fragmented message over 1024 bytes closes the link with 1009")
    func fragmentsTooBig() throws {
        let harness = try Harness()
        _ = try harness.outbound()
        try harness.send([UInt8](repeating: 0x02, count: 600), opcode: .binary, fin: false)
        try harness.send([UInt8](repeating: 0x00, count: 600), opcode: .continuation, fin: true)
        #expect(try harness.closeCode() == LampCloseCode.messageTooBig)
    }

    @Test("a continuation without a message closes with 1002; a text message with 1003")
    func badFrames() throws {
        let orphan = try Harness()
        _ = try orphan.outbound()
        try orphan.send([0x00], opcode: .continuation, fin: true)
        #expect(try orphan.closeCode() == LampCloseCode.protocolError)

        let text = try Harness()
        _ = try text.outbound()
        try text.send(Array("hello".utf8), opcode: .text)
        #expect(try text.closeCode() == LampCloseCode.unsupportedData)
    }

    @Test("a frame whose header announces more than the size limit closes with 1009 before its payload arrives")
    func oversizeFrame() throws {
        // 16-bit and 64-bit length forms, masked; no payload follows.
        for header: [UInt8] in [[0x82, 0xFE, 0x04, 0x01], [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0]] {
            let harness = try Harness()
            _ = try harness.outbound()
            try harness.channel.writeInbound(harness.channel.allocator.buffer(bytes: header))
            #expect(try harness.closeCode() == LampCloseCode.messageTooBig)
        }
    }

    @Test("frames split at every byte, and several in one read, are read whole and in order")
    func framesAcrossReads() throws {
        let harness = try Harness()
        let bytes = try harness.helloBytes()
        // A ping and the hello in two fragments, the whole stream fed one byte per read.
        var stream = try clientFrameBytes([7, 7], opcode: .ping)
        var first = try clientFrameBytes(Array(bytes[..<10]), fin: false)
        var rest = try clientFrameBytes(Array(bytes[10...]), opcode: .continuation)
        stream.writeBuffer(&first)
        stream.writeBuffer(&rest)
        while let byte = stream.readSlice(length: 1) {
            try harness.channel.writeInbound(byte)
        }
        harness.expectWelcomed(try harness.messages())
    }

    @Test("an unmasked frame, RSV bits, a reserved opcode and a fragmented or long control frame close with 1002")
    func frameRules() throws {
        let broken: [[UInt8]] = [
            [0x82, 0x01, 0x05],  // unmasked
            [0xC2, 0x81, 1, 2, 3, 4, 5],  // RSV1
            [0x83, 0x81, 1, 2, 3, 4, 5],  // opcode 3
            [0x09, 0x81, 1, 2, 3, 4, 5],  // a ping without FIN
            [0x89, 0xFE, 0x00, 0x7E],  // a ping of 126 bytes
        ]
        for bytes in broken {
            let harness = try Harness()
            _ = try harness.outbound()
            try harness.channel.writeInbound(harness.channel.allocator.buffer(bytes: bytes))
            #expect(try harness.closeCode() == LampCloseCode.protocolError, "\(bytes)")
        }
    }

    @Test("no hello before the deadline closes with 4002; a command before hello with 1008")
    func handshakeLimits() throws {
        let slow = try Harness(deadlineMilliseconds: 100)
        _ = try slow.outbound()
        let handler = try slow.channel.pipeline.syncOperations.handler(type: LampLinkHandler.self)
        handler.tickIfDue()
        #expect(try slow.closeCode() == nil)
        slow.clock.advance(milliseconds: 101)
        handler.tickIfDue()
        #expect(try slow.closeCode() == LampCloseCode.handshakeTimeout)

        let rude = try Harness()
        _ = try rude.outbound()
        try rude.send(LampMessage.ack(Ack(ackedType: .setLevel, ref: 1)).bytes)
        #expect(try rude.closeCode() == LampCloseCode.policyViolation)
    }

    @Test("links beyond the pending-handshake limit are told to retry (1013); an authenticated one frees its place")
    func pendingHandshakeLimit() throws {
        let harness = try Harness(maximumPendingHandshakes: 1)
        let second = EmbeddedChannel()
        try second.pipeline.syncOperations.addHandler(LampLinkHandler(shared: harness.shared))
        var close = try #require(try serverFrames(second).first).unmaskedData
        #expect(close.readInteger(as: UInt16.self) == LampCloseCode.tryAgainLater)
        _ = try? second.finish()
        // Authenticating the first releases its place, and a new link is challenged again.
        #expect(try harness.authenticate().first?.type == .welcome)
        let third = EmbeddedChannel()
        try third.pipeline.syncOperations.addHandler(LampLinkHandler(shared: harness.shared))
        let frame = try #require(try serverFrames(third).first)
        #expect(frame.opcode == .binary)
    }

    @Test("after the handshake an unknown type is refused with a nack and the link stays; garbage closes it with 4003")
    func unknownAndMalformed() throws {
        let harness = try Harness()
        _ = try harness.authenticate()
        try harness.send(harness.frames!.sealed([0x7f, 0, 0, 0, 9, 1, 2]))
        let reply = try harness.messages()
        #expect(reply == [.nack(Nack(ackedType: MessageType(rawValue: 0x7f), ref: 9, reason: .unknownType))])
        try harness.send(harness.frames!.sealed([0x10, 0xde, 0xad]))
        let frames = try harness.outbound()
        #expect(frames.contains { $0.opcode == .binary })
        var close = try #require(frames.last { $0.opcode == .connectionClose }).unmaskedData
        #expect(close.readInteger(as: UInt16.self) == LampCloseCode.malformedMessage)
    }

    // MARK: Authenticated frames (SPEC.md §4.3)

    static func report(applied: UInt32, level: UInt16) -> LampMessage {
        .statusReport(
            StatusReport(
                appliedVersion: applied, level: Level(permille: Int(level))!, mode: .manual, isLit: level > 0, isFading: false, powerDeciwatts: 10,
                energyWattHours: 1, burnSeconds: 1, faults: [], temperatureCelsius: nil, ambientLux: nil, programRevision: 0,
                clock: 0))
    }

    /// The level the controller holds as the lamp's reported one.
    static func reportedLevel(_ harness: Harness) -> UInt16? {
        harness.shared.fleet.entry(lampID)?.status?.level.permille
    }

    @Test("every message the controller sends after the welcome carries the next tag; the lamp's sealed reports are taken")
    func sealedBothWays() throws {
        let harness = try Harness()
        let replies = try harness.authenticate()
        #expect(replies.first?.type == .welcome)
        #expect(harness.frames!.receiveCounter == UInt64(replies.count - 1))
        try harness.sendSealed(Self.report(applied: 0, level: 123))
        try harness.sendSealed(Self.report(applied: 0, level: 456))
        #expect(Self.reportedLevel(harness) == 456)
        #expect(try harness.closeCode() == nil)
    }

    @Test("a wrong tag closes the link with 4006 and the report is not taken", arguments: [0, 7, 30, 38])
    func wrongTag(flippedByte: Int) throws {
        let harness = try Harness()
        _ = try harness.authenticate()
        try harness.sendSealed(Self.report(applied: 0, level: 100))
        var forged = harness.frames!.sealed(Self.report(applied: 0, level: 900).bytes)
        forged[flippedByte] ^= 0x01
        try harness.send(forged)
        #expect(try harness.closeCode() == LampCloseCode.frameAuthenticationFailed)
        #expect(Self.reportedLevel(harness) == 100)
        #expect(harness.shared.counters.linksClosedFrameAuthentication.current == 1)
    }

    @Test("a replayed report (same bytes, next counter) closes the link with 4006")
    func replayedReport() throws {
        let harness = try Harness()
        _ = try harness.authenticate()
        let first = harness.frames!.sealed(Self.report(applied: 0, level: 100).bytes)
        try harness.send(first)
        try harness.sendSealed(Self.report(applied: 0, level: 200))
        #expect(Self.reportedLevel(harness) == 200)
        try harness.send(first)
        #expect(try harness.closeCode() == LampCloseCode.frameAuthenticationFailed)
        #expect(Self.reportedLevel(harness) == 200)
    }

    @Test("two reordered frames close the link with 4006 at the first, and neither is taken")
    func reorderedFrames() throws {
        let harness = try Harness()
        _ = try harness.authenticate()
        let first = harness.frames!.sealed(Self.report(applied: 0, level: 300).bytes)
        let second = harness.frames!.sealed(Self.report(applied: 0, level: 400).bytes)
        try harness.send(second)
        #expect(try harness.closeCode() == LampCloseCode.frameAuthenticationFailed)
        try? harness.send(first)
        #expect(Self.reportedLevel(harness) == nil)
    }

    @Test("a frame dropped on the way makes the next one fail: 4006")
    func droppedFrame() throws {
        let harness = try Harness()
        _ = try harness.authenticate()
        _ = harness.frames!.sealed(Self.report(applied: 0, level: 300).bytes)
        try harness.sendSealed(Self.report(applied: 0, level: 400))
        #expect(try harness.closeCode() == LampCloseCode.frameAuthenticationFailed)
        #expect(Self.reportedLevel(harness) == nil)
    }

    @Test("an untagged report, a message of 8 bytes or fewer and an empty one close with 4006, not 4003", arguments: [31, 8, 1, 0])
    func missingTag(length: Int) throws {
        let harness = try Harness()
        _ = try harness.authenticate()
        try harness.send(Array(Self.report(applied: 0, level: 500).bytes.prefix(length)))
        #expect(try harness.closeCode() == LampCloseCode.frameAuthenticationFailed)
        #expect(Self.reportedLevel(harness) == nil)
    }

    @Test("a genuine ack marks its request applied; a forged one closes the link with 4006 and marks nothing")
    func forgedAck() throws {
        let harness = try Harness()
        // The config request in flight, acknowledged with a good tag, is applied.
        guard let configVersion = try harness.linkAndAcknowledgeConfig() else { return }
        #expect(harness.shared.fleet.entry(Self.lampID)?.appliedConfigVersion == configVersion)
        let desired = harness.commitLevel(700)
        let handler = try harness.channel.pipeline.syncOperations.handler(type: LampLinkHandler.self)
        handler.desiredChanged(desired)
        let sent = try harness.messages()
        guard case .setLevel(let command)? = sent.last else {
            Issue.record("no setLevel: \(sent)")
            return
        }
        var ack = harness.frames!.sealed(LampMessage.ack(Ack(ackedType: .setLevel, ref: command.version)).bytes)
        ack[ack.count - 1] ^= 0x80
        try harness.send(ack)
        #expect(try harness.closeCode() == LampCloseCode.frameAuthenticationFailed)
        #expect(harness.shared.fleet.entry(Self.lampID)?.appliedVersion == 0)
    }

    @Test("a command sent after an idle sweep is re-sent when its ack is late: the sweep's cached due time gives way to the request's")
    func retryAfterIdleSweep() throws {
        let harness = try Harness()
        guard try harness.linkAndAcknowledgeConfig() != nil else { return }
        let handler = try harness.channel.pipeline.syncOperations.handler(type: LampLinkHandler.self)
        // An idle sweep: nothing is due before the ping (20 s), and the link remembers that.
        handler.tickIfDue()
        #expect(try harness.messages().isEmpty)
        handler.desiredChanged(harness.commitLevel(400))
        guard case .setLevel(let command)? = try harness.messages().last else {
            Issue.record("no setLevel")
            return
        }
        // No ack: within the request timeout (10 s) and well before the ping, it goes again.
        var resent: [SetLevel] = []
        for _ in 0..<15 {
            harness.clock.advance(milliseconds: 1000)
            handler.tickIfDue()
            resent += try harness.messages().compactMap { if case .setLevel(let again) = $0 { again } else { nil } }
        }
        #expect(resent.first?.version == command.version, "the unacknowledged command was not re-sent within 15 s")
    }

    @Test("in a batch a link's frames wait in the loop's slab, then go out whole, tagged in order, before its close")
    func batchedFrames() throws {
        let harness = try Harness()
        guard try harness.linkAndAcknowledgeConfig() != nil else { return }
        let handler = try harness.channel.pipeline.syncOperations.handler(type: LampLinkHandler.self)
        let scratch = LinkSweeper.current(on: harness.channel.eventLoop).scratch
        scratch.beginBatch()
        handler.desiredChanged(harness.commitLevel(400))
        #expect(try harness.messages().isEmpty, "written before the batch ended")
        scratch.endBatch()
        guard case .setLevel(let first)? = try harness.messages().last else {
            Issue.record("no setLevel after the batch")
            return
        }
        #expect(first.level.permille == 400)
        try harness.sendSealed(.ack(Ack(ackedType: .setLevel, ref: first.version)))
        // A frame collected, then the link closed in the same batch: the close must not
        // overtake it (the lamp would see the close and never the command).
        scratch.beginBatch()
        handler.desiredChanged(harness.commitLevel(600))
        handler.replaced()
        scratch.endBatch()
        let after = try harness.outbound()
        #expect(after.map(\.opcode) == [.binary, .connectionClose], "\(after.map(\.opcode))")
        #expect(harness.closes.last == LampCloseCode.replaced)
    }

    @Test("a lamp of minor 1 sends and receives no tags (SPEC.md §4.3 applies from minor 2)")
    func minorOneUntagged() throws {
        let harness = try Harness()
        let replies = try harness.authenticate(minorVersion: 1)
        #expect(replies.first?.type == .welcome)
        try harness.send(Self.report(applied: 0, level: 250).bytes)
        #expect(Self.reportedLevel(harness) == 250)
        #expect(try harness.closeCode() == nil)
    }

    // MARK: lamp-minimum-minor (SPEC.md §4.3)

    @Test("with a minimum minor of 2 a proven lamp of minor 1 is closed with 4007 and not linked; minor 2 is welcomed")
    func minimumMinor() throws {
        let old = try Harness(minimumLampMinor: 2)
        let replies = try old.authenticate(minorVersion: 1)
        #expect(!replies.contains { $0.type == .welcome })
        #expect(try old.closeCode() == LampCloseCode.versionBelowMinimum)
        #expect(old.shared.registry.count == 0)

        let new = try Harness(minimumLampMinor: 2)
        #expect(try new.authenticate(minorVersion: 2).first?.type == .welcome)
        #expect(new.shared.registry.count == 1)
    }

    @Test("the minimum is checked after the MAC: a stranger's minor-1 hello with a wrong MAC still gets 4001")
    func minimumMinorAfterMAC() throws {
        let harness = try Harness(minimumLampMinor: 2)
        _ = try harness.outbound()
        let hello = Hello(
            minorVersion: 1, lampID: Self.lampID, firmware: FirmwareVersion("t")!, capabilities: [.dimmable], appliedVersion: 0,
            configVersion: 0, programRevision: 0, clock: 0, clientNonce: .zero, mac: .zero)
        try harness.send(LampMessage.hello(hello).bytes)
        #expect(try harness.closeCode() == LampCloseCode.authenticationFailed)
    }

    @Test("a minimum minor above this controller's own is refused at start")
    func minimumMinorValidated() {
        var configuration = GatewayConfiguration(host: "127.0.0.1", port: 0)
        configuration.minimumLampMinorVersion = 2
        #expect(throws: Never.self) { try configuration.validate() }
        configuration.minimumLampMinorVersion = 3
        #expect(throws: GatewayError.self) { try configuration.validate() }
    }
}
