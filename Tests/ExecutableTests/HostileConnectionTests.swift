import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Strangers who connect and then say nothing, or too little, on either port (issue 12:
/// 3,000 slowloris connections were never closed). Both ports close them by themselves.
@Suite("Hostile connections")
struct HostileConnectionTests {
    @Test("a silent or half-sent connection is closed on the lamp port and on the API port within the 10 s deadline")
    func slowStrangersAreClosed() async throws {
        let daemon = try Daemon(lamps: 0)
        try await daemon.start()
        let started = ContinuousClock.now
        let strangers = try [
            StrangerSocket(port: daemon.lampPort, sending: ""),
            StrangerSocket(port: daemon.lampPort, sending: "GET /lamp/v1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"),
            StrangerSocket(port: daemon.apiPort, sending: ""),
            StrangerSocket(port: daemon.apiPort, sending: "GET /api/v1/lamps HTTP/1.1\r\nHost: x\r\n"),
        ]
        // A stranger who keeps trickling header bytes is closed all the same (a send may fail
        // once the daemon has closed it, on a machine slow enough to take 10 s for this).
        for _ in 0..<4 {
            try await Task.sleep(for: .seconds(1))
            try? strangers[3].send("X-Trickle: 1\r\n")
        }
        try await waitUntil("every stranger is closed", timeout: .seconds(20)) { strangers.allSatisfy { $0.isClosedByPeer() } }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .seconds(8), "closed before the deadline: \(elapsed)")
        // The ports still serve: a real request is answered.
        let lamps = try await daemon.lamps("limit=1")
        #expect(lamps.isEmpty)
        let url = try #require(URL(string: daemon.api.replacingOccurrences(of: "/api/v1", with: "/metrics")))
        let metrics = String(decoding: try await URLSession.shared.data(from: url).0, as: UTF8.self)
        #expect(metrics.contains(#"lamplighter_connections_closed_total{port="lamp",reason="deadline"} 2"#), "\(metrics)")
    }
}

/// A raw TCP connection that sends what it is told and reports whether the peer closed it.
final class StrangerSocket {
    let descriptor: Int32

    init(port: Int, sending text: String) throws {
        descriptor = try loopbackSocket(port: port)
        if !text.isEmpty { try send(text) }
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard Glibc.send(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { throw HarnessError("send failed") }
    }

    /// Whether the peer has closed: a read without waiting sees the end (or a reset).
    func isClosedByPeer() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count == 0 { return true }
            if count < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        }
    }

    deinit { close(descriptor) }
}
