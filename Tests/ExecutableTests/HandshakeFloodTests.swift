import Foundation
import LampAuth
import LampProtocol
import OperatorAPI
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Issue 12: a flood of failed hellos from one address is backed off before the upgrade,
/// while a lamp from another address still links and obeys a command.
@Suite("Handshake floods")
struct HandshakeFloodTests {
    @Test("wrong-MAC and unknown-id hellos from 127.0.0.2 get 4001 until its backoff refuses it; a lamp on 127.0.0.1 still gets its command")
    func floodIsBackedOff() async throws {
        let daemon = try Daemon(lamps: 1)
        daemon.runArguments = ["--handshake-failures", "5", "--handshake-backoff", "60"]
        try await daemon.start()
        let stranger = FleetKey.generate()
        var closeCodes: [UInt16?] = []
        for attempt in 0..<5 {
            // Alternate a registered id with the wrong key and an unknown id: the same answer.
            let id = attempt % 2 == 0 ? "lamp-0001" : "lamp-\(90000 + attempt)"
            closeCodes.append(try FloodHello.attempt(port: daemon.lampPort, from: "127.0.0.2", id: id, key: stranger.lampKey(for: LampID(id)!)))
        }
        #expect(closeCodes == Array(repeating: 4001, count: 5))
        // Backed off now: refused before the upgrade, no challenge.
        #expect(throws: FloodHello.Refused.self) {
            _ = try FloodHello.attempt(port: daemon.lampPort, from: "127.0.0.2", id: "lamp-0001", key: stranger.lampKey(for: LampID("lamp-0001")!))
        }
        // Another address is not: the real lamp links and applies a command.
        let lamp = try RawLamp(port: daemon.lampPort, id: "lamp-0001", keyFile: daemon.keyFile)
        var seen: [MessageType] = []
        let accepted = try await daemon.command(CommandRequest(target: "lamp:lamp-0001", action: "level", level: 40))
        for _ in 0..<10 {
            let message = try lamp.receive()
            seen.append(message.type)
            if message.type == .setLevel { break }
            if case .config(let config) = message { try lamp.send(.ack(Ack(ackedType: .config, ref: config.configVersion))) }
        }
        #expect(seen.contains(.setLevel), "\(seen), command \(accepted.id)")
        let url = try #require(URL(string: daemon.api.replacingOccurrences(of: "/api/v1", with: "/metrics")))
        let metrics = String(decoding: try await URLSession.shared.data(from: url).0, as: UTF8.self)
        #expect(metrics.contains(#"lamplighter_connections_closed_total{port="lamp",reason="backoff"} 1"#), "\(metrics)")
        #expect(metrics.contains("lamplighter_handshake_backoffs_total 1"), "\(metrics)")
    }
}

/// One hello over a raw socket from a chosen loopback address.
enum FloodHello {
    struct Refused: Error {}

    /// Upgrades, answers the challenge with a hello for `id` signed with `key`, and returns
    /// the close code; throws ``Refused`` when the connection is closed before the upgrade.
    static func attempt(port: Int, from source: String, id: String, key: LampKey) throws -> UInt16? {
        let descriptor = try socket(port: port, from: source)
        defer { close(descriptor) }
        guard webSocketUpgrade(descriptor) != nil else { throw Refused() }
        guard let (opcode, payload) = readFrame(descriptor), opcode == 2, case .challenge(let challenge) = try LampMessage.decode(payload)
        else { throw HarnessError("no challenge") }
        var hello = Hello(
            lampID: LampID(id)!, firmware: FirmwareVersion("flood")!, capabilities: [.dimmable], appliedVersion: 0, configVersion: 0,
            programRevision: 0, clock: 0, clientNonce: Nonce.random(), mac: .zero)
        hello.mac = key.helloMAC(for: hello, serverNonce: challenge.serverNonce)
        let message = LampMessage.hello(hello).bytes
        let mask: [UInt8] = [1, 2, 3, 4]
        let frame = [0x82, 0x80 | UInt8(message.count)] + mask + message.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        _ = Glibc.send(descriptor, frame, frame.count, Int32(MSG_NOSIGNAL))
        while let (opcode, payload) = readFrame(descriptor) {
            if opcode == 8 { return payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil }
        }
        return nil
    }

    static func socket(port: Int, from source: String) throws -> Int32 {
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, connected == 0 else {
            close(descriptor)
            throw HarnessError("bind or connect from \(source) failed: \(errno)")
        }
        return descriptor
    }

    static func readByte(_ descriptor: Int32) -> UInt8? {
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, 0) == 1 ? byte : nil
    }

    /// One unmasked server frame: opcode and payload (nil when the connection ends).
    static func readFrame(_ descriptor: Int32) -> (UInt8, [UInt8])? {
        guard let first = readByte(descriptor), let second = readByte(descriptor) else { return nil }
        var length = Int(second & 0x7f)
        if length == 126 {
            guard let high = readByte(descriptor), let low = readByte(descriptor) else { return nil }
            length = Int(high) << 8 | Int(low)
        }
        var payload: [UInt8] = []
        for _ in 0..<length {
            guard let byte = readByte(descriptor) else { return nil }
            payload.append(byte)
        }
        return (first & 0x0f, payload)
    }
}
