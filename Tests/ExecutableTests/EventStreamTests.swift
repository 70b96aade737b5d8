import Foundation
import OperatorAPI
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The live event stream, as `lampctl watch` and a raw WebSocket client see it.
@Suite("Event stream", .serialized)
struct EventStreamTests {
    /// `lampctl watch` in the background; its output lines once it ends.
    final class Watcher: @unchecked Sendable {
        let process = Process()
        private let output = Pipe()
        private let errors = Pipe()

        init(_ arguments: [String]) throws {
            process.executableURL = ProductRunner.productsDirectory.appendingPathComponent("lampctl")
            process.arguments = ["watch"] + arguments
            process.standardOutput = output
            process.standardError = errors
            try process.run()
        }

        func finish() -> (status: Int32, lines: [String], stderr: String) {
            let stdout = output.fileHandleForReading.readDataToEndOfFile()
            let stderr = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (
                process.terminationStatus, String(decoding: stdout, as: UTF8.self).split(separator: "\n").map(String.init),
                String(decoding: stderr, as: UTF8.self)
            )
        }
    }

    @Test("a lamp channel carries that lamp's events in order, and its commands' progress; the stream checks the token")
    func orderingAndAuthentication() async throws {
        let daemon = try Daemon(lamps: 5)
        try daemon.start()
        let watcher = try Watcher(["lamp:lamp-0003", "--json", "--status-interval", "0", "--seconds", "8"] + daemon.lampctlOptions)
        try await Task.sleep(for: .milliseconds(500))
        let sim = try Simulator(daemon, count: 5)
        try await daemon.waitUntil("5 lamps are online") { try await daemon.onlineCount() == 5 }
        let command = try await daemon.command(CommandRequest(target: "lamp:lamp-0003", action: "level", level: 40))
        _ = try await daemon.command(CommandRequest(target: "lamp:lamp-0001", action: "level", level: 70))
        try await daemon.waitUntil("the command is applied") { try await daemon.progress(command.id).applied == 1 }
        try await Task.sleep(for: .milliseconds(600))
        _ = try sim.finish()

        let (status, lines, stderr) = watcher.finish()
        #expect(status == 0, "\(stderr)")
        let events = try lines.map { try APICoding.decoder().decode(StreamEvent.self, from: Data($0.utf8)) }
        #expect(events.first?.type == "subscribed" && events.first?.channels == ["lamp:lamp-0003"])
        #expect(events.allSatisfy { $0.lamp == nil || $0.lamp == "lamp-0003" }, "\(lines)")
        #expect(events.allSatisfy { $0.command == nil || $0.command?.target == "lamp:lamp-0003" })
        let types = events.map(\.type)
        let online = try #require(types.firstIndex(of: "lamp.online"), "\(types)")
        let dimmed = try #require(events.firstIndex { $0.type == "lamp.status" && $0.level == 40 }, "\(types)")
        let offline = try #require(types.lastIndex(of: "lamp.offline"), "\(types)")
        #expect(online < dimmed && dimmed < offline)
        let applied = try #require(events.first { $0.type == "command.applied" }?.command)
        #expect(applied.id == command.id && applied.applied == 1)
        if let progress = types.firstIndex(of: "command.progress") {
            #expect(progress < types.firstIndex(of: "command.applied")!)
        }
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.at <= $1.at || $0.lamp != $1.lamp })

        let anonymous = try ProductRunner.runWithTimeout("lampctl", ["watch", "--server", daemon.server, "--token", "nope"], seconds: 10)
        #expect(anonymous.status == 6 && anonymous.stderr.contains("HTTP 401"))
        let badChannel = try ProductRunner.run("lampctl", ["watch", "street:1"] + daemon.lampctlOptions)
        #expect(badChannel.status == 64 && badChannel.stderr.contains("is not a channel"))
    }

    @Test("a subscriber that stops reading is disconnected with the reason; commands keep their pace")
    func slowSubscriber() async throws {
        let daemon = try Daemon(lamps: 200)
        daemon.runArguments = ["--stream-buffer", "16"]
        try daemon.start()
        let sim = try Simulator(daemon, count: 200, extra: ["--burst", "100"])
        try await daemon.waitUntil("200 lamps are online") { try await daemon.onlineCount() == 200 }

        let socket = try RawWebSocket(port: daemon.apiPort, token: daemon.adminToken)
        try socket.sendText(#"{"op":"subscribe","channels":["fleet"],"statusIntervalSeconds":0}"#)
        // 200 lamps x 100 reports x about 200 bytes is far more than the socket buffers hold.
        for _ in 0..<3 {
            kill(sim.process.processIdentifier, SIGUSR1)
            try await Task.sleep(for: .milliseconds(300))
        }
        try await daemon.waitUntil("the daemon cut the subscriber off") {
            let (_, stats): (Int, StatsView?) = try await daemon.request("GET", "/stats")
            return stats?.streamSubscribersDropped == 1 && stats?.streamSubscribers == 0
        }
        let command = try await daemon.command(CommandRequest(target: "all", action: "level", level: 55))
        // Each lamp's ack queues behind the 300 reports it just burst out; a debug build on a
        // busy machine needs a while for 60,000 of them, so the bound is generous. What it
        // rules out is a controller stalled by its subscriber.
        try await daemon.waitUntil("every lamp applied a command meanwhile", seconds: 30) {
            try await daemon.progress(command.id).applied == 200
        }
        // Reading now, the client finds the close frame after what was already sent.
        let received = socket.readAll(seconds: 10)
        #expect(received.range(of: Data("subscriber too slow: more than 16 events waiting".utf8)) != nil)
        _ = try sim.finish()
    }
}

/// A minimal WebSocket client on a blocking socket with a tiny receive buffer: a subscriber
/// that can be made to stop reading.
final class RawWebSocket {
    let descriptor: Int32

    init(port: Int, token: String) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var size: Int32 = 4096
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw HarnessError("connect failed: \(errno)") }
        let request =
            "GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer \(token)\r\n\r\n"
        try write(Array(request.utf8))
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !head.ends(with: Array("\r\n\r\n".utf8)) {
            guard read(descriptor, &byte, 1) == 1 else { throw HarnessError("no upgrade response") }
            head.append(byte)
        }
        guard String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101") else {
            throw HarnessError("upgrade refused: \(String(decoding: head, as: UTF8.self))")
        }
    }

    func write(_ bytes: [UInt8]) throws {
        guard send(descriptor, bytes, bytes.count, 0) == bytes.count else { throw HarnessError("send failed") }
    }

    /// One masked text frame (client frames must be masked).
    func sendText(_ text: String) throws {
        let payload = Array(text.utf8)
        precondition(payload.count < 126)
        let mask: [UInt8] = [1, 2, 3, 4]
        try write([0x81, 0x80 | UInt8(payload.count)] + mask + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
    }

    /// Everything until the server closes the connection or `seconds` pass.
    func readAll(seconds: Double) -> Data {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            data.append(contentsOf: buffer[0..<count])
        }
        return data
    }

    deinit {
        close(descriptor)
    }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
