import FleetCore
import LampAuth
import LampProtocol
import NIOCore
import NIOEmbedded
import Testing

@testable import lampsim

/// Which link a simulated lamp takes as its own. Found by the 100,000-lamp cluster runs: a lamp
/// that took a link it should not have waited on a dead channel for good, "upgraded, not
/// authenticated", and never connected again.
@Suite("lampsim: a lamp takes only a live link of its current attempt")
struct SimSlotLinkTests {
    static func slot(on loop: EmbeddedEventLoop) throws -> SimSlot {
        let lamp = SimLamp(
            index: 0, id: LampID("lamp-0001")!, key: LampKey(bytes: [UInt8](repeating: 7, count: 32)), wattage: 100,
            misbehaviour: .none, backoff: Backoff(), now: 0)
        let url = try ControllerList.parseOne("ws://127.0.0.1:9/lamp/v1")
        let directory = ControllerDirectory(urls: [url], sourceAddresses: [], tls: nil, handshakeTimeout: .seconds(5))
        let slot = SimSlot(lamp: lamp, stats: SimStats(), directory: directory, loop: loop, startAt: 0)
        // As connect() leaves it: attempt 0 under way.
        slot.state = .connecting
        return slot
    }

    static func isConnected(_ slot: SimSlot) -> Bool {
        if case .connected = slot.state { return true }
        return false
    }

    /// A connected channel whose link handler says it belongs to `attempt` (the slot's is 0).
    static func link(of attempt: UInt64) throws -> (EmbeddedChannel, SimSlot) {
        let channel = EmbeddedChannel()
        let slot = try Self.slot(on: channel.embeddedEventLoop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        try channel.pipeline.syncOperations.addHandler(SimLinkHandler(slot: slot, attempt: attempt, replayHello: nil))
        return (channel, slot)
    }

    @Test("the link of the current attempt, on a live channel, is taken")
    func liveLinkTaken() throws {
        let (channel, slot) = try Self.link(of: 0)
        #expect(Self.isConnected(slot))
        #expect(channel.isActive)
        _ = try? channel.finish()
    }

    @Test("the link of an attempt already given up (its deadline passed) is closed, not taken")
    func staleLinkRefused() throws {
        let (channel, slot) = try Self.link(of: 7)
        #expect(!Self.isConnected(slot))
        #expect(!channel.isActive, "the stale link is closed")
    }

    @Test("a channel that closed while its upgrade was finishing is not taken (its end would never reach the lamp)")
    func closedChannelRefused() throws {
        let channel = EmbeddedChannel()
        let slot = try Self.slot(on: channel.embeddedEventLoop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        try channel.close().wait()
        try channel.pipeline.syncOperations.addHandler(SimLinkHandler(slot: slot, attempt: 0, replayHello: nil))
        #expect(!Self.isConnected(slot))
    }
}
