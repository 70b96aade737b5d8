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

/// Issue 12's lamp-id oracle and hello floods: an unknown id and a wrong MAC take one path
/// (the MAC is checked for both, the store never read) and one answer (4001), and failed
/// handshakes from one address back that address off.
@Suite("Handshake oracle and failure limits", .serialized)
struct HandshakeOracleTests {
    static let fleetKey = FleetKey(hex: String(repeating: "22", count: 32))!
    static let lampID = LampID("lamp-0001")!

    /// A gateway's shared state over a real store with one lamp, on a manual clock.
    final class Gateway {
        let shared: GatewayShared
        let store: FleetStore
        let clock = ManualClock()

        init(limits: HandshakeFailureLimits = HandshakeFailureLimits()) throws {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("oracle-\(UUID().uuidString).db").path
            store = try FleetStore(path: path)
            try store.addLamps([LampRecord(id: HandshakeOracleTests.lampID)], atMilliseconds: 1)
            let fleet = FleetState(stored: try store.loadAll())
            var configuration = GatewayConfiguration(host: "127.0.0.1", port: 0)
            configuration.handshakeFailureLimits = limits
            let controller = FleetController(
                store: store, fleet: fleet, fleetKey: HandshakeOracleTests.fleetKey, gateway: configuration, clock: clock,
                logger: Logger(label: "test"))
            shared = controller.gateway.shared
        }

        /// A link from `address` that sends a hello for `id`, signed with `key`, and returns
        /// the close code it got.
        func hello(_ id: LampID, signedWith key: LampKey, from address: String = "10.0.0.9") throws -> UInt16? {
            let channel = EmbeddedChannel()
            channel.remoteAddress = try SocketAddress(ipAddress: address, port: 40000)
            try channel.pipeline.syncOperations.addHandler(LampLinkHandler(shared: shared))
            var frames = try serverFrames(channel)
            guard let first = frames.first(where: { $0.opcode == .binary }),
                case .challenge(let challenge) = try LampMessage.decode(first.unmaskedData, peerMinorVersion: LampProtocolVersion.minor)
            else { throw OracleError() }
            var hello = Hello(
                lampID: id, firmware: FirmwareVersion("t")!, capabilities: [.dimmable], appliedVersion: 0, configVersion: 1,
                programRevision: 0, clock: 0, clientNonce: Nonce.random(), mac: .zero)
            hello.mac = key.helloMAC(for: hello, serverNonce: challenge.serverNonce)
            try channel.writeInbound(clientFrameBytes(LampMessage.hello(hello).bytes))
            frames = try serverFrames(channel)
            _ = try? channel.finish()
            guard var close = frames.last(where: { $0.opcode == .connectionClose })?.unmaskedData else { return nil }
            return close.readInteger(as: UInt16.self)
        }
    }

    struct OracleError: Error {}

    @Test("an unknown id and a wrong MAC both reach the MAC check and are refused with 4001; no store read decides it")
    func samePath() async throws {
        let gateway = try Gateway()
        let counters = gateway.shared.counters
        let wrongKey = Self.fleetKey.lampKey(for: LampID("someone-else")!)
        #expect(try gateway.hello(LampID("lamp-9999")!, signedWith: wrongKey) == LampCloseCode.authenticationFailed)
        #expect(counters.helloMACsCompared.current == 1)
        #expect(try gateway.hello(Self.lampID, signedWith: wrongKey) == LampCloseCode.authenticationFailed)
        #expect(counters.helloMACsCompared.current == 2)
        // An id registered in the store behind the running gateway's back is not looked up:
        // the fleet in memory is the registry (registrations go through the daemon).
        try gateway.store.addLamps([LampRecord(id: LampID("lamp-0002")!)], atMilliseconds: 2)
        let key2 = Self.fleetKey.lampKey(for: LampID("lamp-0002")!)
        #expect(try gateway.hello(LampID("lamp-0002")!, signedWith: key2) == LampCloseCode.authenticationFailed)
        #expect(counters.helloMACsCompared.current == 3)
        #expect(counters.handshakesRefused.current == 3)
        // The right key for a registered lamp is welcomed (no close), through the same check.
        #expect(try gateway.hello(Self.lampID, signedWith: Self.fleetKey.lampKey(for: Self.lampID)) == nil)
        #expect(counters.helloMACsCompared.current == 4)
        #expect(counters.handshakesAccepted.current == 1)
    }

    @Test("the stand-in key for an unknown id is derived from an id of the same length, and never a registered lamp's")
    func standInKey() throws {
        let gateway = try Gateway()
        let known = gateway.shared.helloKeys(for: Self.lampID)
        #expect(known.registered && known.key == Self.fleetKey.lampKey(for: Self.lampID) && known.pending == nil)
        let unknownID = LampID("lamp-0404")!
        let unknown = gateway.shared.helloKeys(for: unknownID)
        #expect(!unknown.registered && unknown.pending == nil)
        #expect(unknown.key != Self.fleetKey.lampKey(for: unknownID))
        // Two derivations for every id (SPEC.md §8.12): with no rotation pending the second
        // key is a stand-in, for the known lamp as for the unknown id, never a real key.
        #expect(known.alternate == unknown.alternate && known.alternate != Self.fleetKey.lampKey(for: Self.lampID, generation: 1))
        // The same stand-in for every id of one length within a process (one derivation each).
        #expect(gateway.shared.helloKeys(for: LampID("lamp-0405")!).key == unknown.key)
    }

    @Test("after the limit of failures from one address its connections are refused for a doubling backoff; others are not")
    func backoff() throws {
        let limits = HandshakeFailureLimits(
            maximumFailures: 3, windowMilliseconds: 60_000, firstBackoffMilliseconds: 1000, maximumBackoffMilliseconds: 3000)
        let gateway = try Gateway(limits: limits)
        let limiter = gateway.shared.failureLimiter
        let clock = gateway.clock
        let wrongKey = Self.fleetKey.lampKey(for: LampID("nobody")!)
        for _ in 0..<3 {
            #expect(limiter.admits("10.0.0.9", atMilliseconds: clock.nowMilliseconds()))
            _ = try gateway.hello(LampID("lamp-7")!, signedWith: wrongKey, from: "10.0.0.9")
        }
        #expect(!limiter.admits("10.0.0.9", atMilliseconds: clock.nowMilliseconds()))
        #expect(limiter.admits("10.0.0.10", atMilliseconds: clock.nowMilliseconds()))
        #expect(gateway.shared.counters.backoffsStarted.current == 1)
        #expect(gateway.shared.counters.closedBackedOff.current == 1)
        clock.advance(milliseconds: 1001)
        #expect(limiter.admits("10.0.0.9", atMilliseconds: clock.nowMilliseconds()))
        // A second offence: 2 s; a third: 3 s (the maximum), not 4.
        for backoff: UInt64 in [2000, 3000, 3000] {
            for _ in 0..<3 { limiter.failed("10.0.0.9", atMilliseconds: clock.nowMilliseconds()) }
            clock.advance(milliseconds: backoff - 1)
            #expect(!limiter.admits("10.0.0.9", atMilliseconds: clock.nowMilliseconds()))
            clock.advance(milliseconds: 2)
            #expect(limiter.admits("10.0.0.9", atMilliseconds: clock.nowMilliseconds()))
        }
        // Failures spread wider than the window never add up to a backoff.
        let spread = HandshakeFailureLimiter(limits: limits, counters: GatewayCounters())
        for step in 0..<10 { spread.failed("10.0.0.1", atMilliseconds: UInt64(step) * 30_001) }
        #expect(spread.admits("10.0.0.1", atMilliseconds: 10 * 30_001))
    }

    @Test("the table of addresses is bounded: beyond it failures go uncounted until old addresses are forgotten")
    func boundedAddresses() {
        let limits = HandshakeFailureLimits(
            maximumFailures: 2, windowMilliseconds: 1000, firstBackoffMilliseconds: 1000, maximumBackoffMilliseconds: 1000,
            maximumAddresses: 100)
        let counters = GatewayCounters()
        let limiter = HandshakeFailureLimiter(limits: limits, counters: counters)
        for address in 0..<1000 { limiter.failed("10.1.\(address / 256).\(address % 256)", atMilliseconds: 5000) }
        #expect(limiter.trackedAddresses == 100)
        #expect(counters.failuresUntracked.current == 900)
        // Long after, the old ones are forgotten and new ones tracked again.
        limiter.failed("10.2.0.1", atMilliseconds: 60_000)
        #expect(limiter.trackedAddresses == 1)
    }

    @Test("limits that make no sense are refused at start")
    func validation() {
        var configuration = GatewayConfiguration(host: "127.0.0.1", port: 0)
        configuration.handshakeFailureLimits.maximumBackoffMilliseconds = 1
        #expect(throws: GatewayError.self) { try configuration.validate() }
    }
}
