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

        init(deadlineMilliseconds: UInt64 = 5000, maximumPendingHandshakes: Int = 2048) throws {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("link-\(UUID().uuidString).db").path
            let store = try FleetStore(path: path)
            try store.addLamps([LampRecord(id: LampLinkHandlerTests.lampID)], atMilliseconds: 1)
            let fleet = FleetState(stored: try store.loadAll())
            var configuration = GatewayConfiguration(host: "127.0.0.1", port: 0)
            configuration.handshakeDeadlineMilliseconds = deadlineMilliseconds
            configuration.maximumPendingHandshakes = maximumPendingHandshakes
            let controller = FleetController(
                store: store, fleet: fleet, fleetKey: LampLinkHandlerTests.fleetKey, gateway: configuration, clock: clock,
                logger: Logger(label: "test"))
            shared = controller.gateway.shared
            channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(LampLinkHandler(shared: shared))
        }

        func outbound() throws -> [WebSocketFrame] {
            var frames: [WebSocketFrame] = []
            while let frame = try channel.readOutbound(as: WebSocketFrame.self) {
                frames.append(frame)
            }
            return frames
        }

        func messages() throws -> [LampMessage] {
            try outbound().filter { $0.opcode == .binary }.map { try LampMessage.decode($0.unmaskedData, peerMinorVersion: LampProtocolVersion.minor) }
        }

        func closeCode() throws -> UInt16? {
            guard var data = try outbound().last(where: { $0.opcode == .connectionClose })?.unmaskedData else { return nil }
            return data.readInteger(as: UInt16.self)
        }

        func send(_ bytes: [UInt8], opcode: WebSocketOpcode = .binary, fin: Bool = true) throws {
            try channel.writeInbound(WebSocketFrame(fin: fin, opcode: opcode, maskKey: WebSocketMaskingKey([0, 0, 0, 0]), data: channel.allocator.buffer(bytes: bytes)))
        }

        /// Reads the challenge and answers with a valid hello, in `pieces` fragments.
        func authenticate(pieces: Int = 1) throws -> [LampMessage] {
            guard case .challenge(let challenge)? = try messages().first else { throw HarnessError() }
            var hello = Hello(
                lampID: LampLinkHandlerTests.lampID, firmware: FirmwareVersion("t")!, capabilities: [.dimmable],
                appliedVersion: 0, configVersion: 1, programRevision: 0, clock: 0, clientNonce: Nonce.random(), mac: .zero)
            hello.mac = LampLinkHandlerTests.fleetKey.lampKey(for: LampLinkHandlerTests.lampID).helloMAC(
                for: hello, serverNonce: challenge.serverNonce)
            let bytes = LampMessage.hello(hello).bytes
            let size = (bytes.count + pieces - 1) / pieces
            for index in 0..<pieces {
                let part = Array(bytes[min(bytes.count, index * size)..<min(bytes.count, (index + 1) * size)])
                try send(part, opcode: index == 0 ? .binary : .continuation, fin: index == pieces - 1)
            }
            return try messages()
        }
    }

    struct HarnessError: Error {}

    @Test("a hello in three fragments is reassembled and welcomed")
    func fragmentedHello() throws {
        let harness = try Harness()
        let replies = try harness.authenticate(pieces: 3)
        guard case .welcome? = replies.first else {
            Issue.record("no welcome: \(replies)")
            return
        }
        #expect(harness.shared.registry.count == 1)
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

    @Test("a frame over the size limit, reported by the decoder, closes with 1009")
    func oversizeFrame() throws {
        let harness = try Harness()
        _ = try harness.outbound()
        harness.channel.pipeline.fireErrorCaught(NIOWebSocketError.invalidFrameLength)
        #expect(try harness.closeCode() == LampCloseCode.messageTooBig)
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
        var close = try #require(try second.readOutbound(as: WebSocketFrame.self)).unmaskedData
        #expect(close.readInteger(as: UInt16.self) == LampCloseCode.tryAgainLater)
        _ = try? second.finish()
        // Authenticating the first releases its place, and a new link is challenged again.
        #expect(try harness.authenticate().first?.type == .welcome)
        let third = EmbeddedChannel()
        try third.pipeline.syncOperations.addHandler(LampLinkHandler(shared: harness.shared))
        let frame = try #require(try third.readOutbound(as: WebSocketFrame.self))
        #expect(frame.opcode == .binary)
    }

    @Test("after the handshake an unknown type is refused with a nack and the link stays; garbage closes it with 4003")
    func unknownAndMalformed() throws {
        let harness = try Harness()
        _ = try harness.authenticate()
        try harness.send([0x7f, 0, 0, 0, 9, 1, 2])
        let reply = try harness.outbound()
        #expect(reply.count == 1 && reply[0].opcode == .binary)
        #expect(
            try LampMessage.decode(reply[0].unmaskedData, peerMinorVersion: 0)
                == .nack(Nack(ackedType: MessageType(rawValue: 0x7f), ref: 9, reason: .unknownType)))
        try harness.send([0x10, 0xde, 0xad])
        let frames = try harness.outbound()
        #expect(frames.contains { $0.opcode == .binary })
        var close = try #require(frames.last { $0.opcode == .connectionClose }).unmaskedData
        #expect(close.readInteger(as: UInt16.self) == LampCloseCode.malformedMessage)
    }
}
