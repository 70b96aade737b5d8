import Foundation
import OperatorAPI
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The live event stream, as `lampctl watch` and a raw WebSocket client see it.
@Suite("Event stream", .serialized)
struct EventStreamTests {
    /// `lampctl watch` in the background; its output lines as they come, and once it ends.
    final class Watcher: @unchecked Sendable {
        let process = Process()
        private let output = OutputCollector()
        private let errors = OutputCollector()

        init(_ arguments: [String]) throws {
            process.executableURL = ProductRunner.productsDirectory.appendingPathComponent("lampctl")
            process.arguments = ["watch"] + arguments
            process.standardOutput = output.pipe
            process.standardError = errors.pipe
            try process.run()
            output.start()
            errors.start()
        }

        /// The events printed so far (`--json`); a line that is not one is left out here.
        var events: [StreamEvent] {
            output.lines.compactMap { try? APICoding.decoder().decode(StreamEvent.self, from: Data($0.utf8)) }
        }

        /// Waits until the watcher has ended: its status, every line it printed, its errors.
        func finish() -> (status: Int32, lines: [String], stderr: String) {
            process.waitUntilExit()
            let stdout = output.waitForEnd()
            return (process.terminationStatus, stdout.split(separator: "\n").map(String.init), errors.waitForEnd())
        }
    }

    @Test("a lamp channel carries that lamp's events in order, and its commands' progress; the stream checks the token")
    func orderingAndAuthentication() async throws {
        let daemon = try Daemon(lamps: 5)
        try await daemon.start()
        // It runs until the daemon ends the stream; --seconds only bounds a failing test.
        let watcher = try Watcher(["lamp:lamp-0003", "--json", "--status-interval", "0", "--seconds", "60"] + daemon.lampctlOptions)
        try await waitUntil("the watcher is subscribed") { watcher.events.contains { $0.type == "subscribed" } }
        let sim = try Simulator(daemon, count: 5)
        try await waitUntil("5 lamps are online") { try await daemon.onlineCount() == 5 }
        let command = try await daemon.command(CommandRequest(target: "lamp:lamp-0003", action: "level", level: 40))
        let other = try await daemon.command(CommandRequest(target: "lamp:lamp-0001", action: "level", level: 70))
        try await waitUntil("both commands are applied") {
            let mine = try await daemon.progress(command.id).applied
            let others = try await daemon.progress(other.id).applied
            return mine == 1 && others == 1
        }
        try await waitUntil("the watcher saw lamp-0003 dimmed and its command applied") {
            let events = watcher.events
            return events.contains { $0.type == "lamp.status" && $0.level == 40 } && events.contains { $0.type == "command.applied" }
        }
        _ = try sim.finish()
        // Its offline event comes after everything about lamp-0001, so whatever of that the
        // channel let through would have been printed before it.
        try await waitUntil("the watcher saw lamp-0003 go offline") { watcher.events.contains { $0.type == "lamp.offline" } }

        let anonymous = try ProductRunner.runWithTimeout("lampctl", ["watch", "--server", daemon.server, "--token", "nope"], seconds: 30)
        #expect(anonymous.status == 6 && anonymous.stderr.contains("HTTP 401"), "\(anonymous.status) \(anonymous.stderr)")
        let badChannel = try ProductRunner.run("lampctl", ["watch", "street:1"] + daemon.lampctlOptions)
        #expect(badChannel.status == 64 && badChannel.stderr.contains("is not a channel"))

        // The daemon going away ends the stream: the watcher says so and exits 3 (unreachable).
        daemon.stop()
        let (status, lines, stderr) = watcher.finish()
        #expect(status == 3 && stderr.contains("lamplighterd closed the event stream"), "\(stderr)")
        let events = try lines.map { try APICoding.decoder().decode(StreamEvent.self, from: Data($0.utf8)) }
        #expect(events.first?.type == "subscribed" && events.first?.channels == ["lamp:lamp-0003"])
        #expect(events.allSatisfy { $0.lamp == nil || $0.lamp == "lamp-0003" }, "\(lines)")
        #expect(events.allSatisfy { $0.command == nil || $0.command?.target == "lamp:lamp-0003" })
        let types = events.map(\.type)
        let online = try #require(types.firstIndex(of: "lamp.online"), "\(types)")
        let dimmed = try #require(events.firstIndex { $0.type == "lamp.status" && $0.level == 40 }, "\(types)")
        let offline = try #require(types.lastIndex(of: "lamp.offline"), "\(types)")
        #expect(online < dimmed && dimmed < offline)
        let appliedIndex = try #require(types.firstIndex(of: "command.applied"), "\(types)")
        let applied = try #require(events[appliedIndex].command)
        #expect(applied.id == command.id && applied.applied == 1)
        if let progress = types.firstIndex(of: "command.progress") {
            #expect(progress < appliedIndex)
        }
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.at <= $1.at || $0.lamp != $1.lamp })
    }

    @Test("a subscriber that stops reading is disconnected with the reason; commands keep their pace")
    func slowSubscriber() async throws {
        let daemon = try Daemon(lamps: 200)
        daemon.runArguments = ["--stream-buffer", "16"]
        try await daemon.start()
        let sim = try Simulator(daemon, count: 200, extra: ["--burst", "25"])
        try await waitUntil("200 lamps are online") { try await daemon.onlineCount() == 200 }

        let socket = try RawWebSocket(port: daemon.apiPort, token: daemon.adminToken)
        try socket.sendText(#"{"op":"subscribe","channels":["fleet"],"statusIntervalSeconds":0}"#)
        // A burst, 200 lamps x 25 reports, is 5,000 status events for a subscriber that does not
        // read. Another burst (at most twelve: 300 reports a lamp) follows only once the daemon
        // has taken in the last one and still not cut the subscriber off (e.g. the burst came
        // before the subscription).
        var bursts = 0
        var takenIn = 0
        try await waitUntil("the daemon cut the subscriber off") {
            let stats = try await daemon.stats()
            if stats.streamSubscribersDropped == 1 && stats.streamSubscribers == 0 { return true }
            if bursts < 12 && stats.messagesIn >= takenIn {
                sim.burst()
                bursts += 1
                takenIn = stats.messagesIn + 200 * 25
            }
            return false
        }
        let command = try await daemon.command(CommandRequest(target: "all", action: "level", level: 55))
        // Each lamp's ack queues behind the reports it just burst out; a debug build on a busy
        // machine needs a while for 5,000 of them a burst, so the bound is generous. What it
        // rules out is a controller stalled by its subscriber.
        try await waitUntil("every lamp applied a command meanwhile", timeout: .seconds(30)) {
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
        descriptor = try loopbackSocket(port: port, receiveBuffer: 4096)
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
