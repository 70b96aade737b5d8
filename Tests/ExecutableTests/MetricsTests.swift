import Foundation
import OperatorAPI
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `/metrics` in the Prometheus text format, against a real daemon and simulated lamps.
@Suite("Prometheus metrics", .serialized)
struct MetricsTests {
    /// Parses the text exposition format: every line a comment or `name{labels} value`.
    static func parse(_ text: String) throws -> [(name: String, labels: String, value: Double)] {
        let sample = try Regex(#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+-]+|[+-]Inf|NaN)$"#)
        return try text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            guard let match = try sample.wholeMatch(in: String(line)), let name = match[1].substring,
                let valueText = match[3].substring
            else { throw HarnessError("not a Prometheus sample line: \(line)") }
            let value = valueText == "+Inf" ? Double.infinity : (Double(valueText) ?? .nan)
            return (String(name), match[2].substring.map(String.init) ?? "", value)
        }
    }

    @Test("links, handshakes, frames by type, command latency and lamps by mode are exported and parse")
    func metrics() async throws {
        let daemon = try Daemon(lamps: 10)
        try await daemon.start()
        let sim = try Simulator(daemon, count: 10)
        try await waitUntil("10 lamps are online") { try await daemon.onlineCount() == 10 }
        let accepted = try await daemon.command(CommandRequest(target: "all", action: "level", level: 40))
        try await waitUntil("every lamp applied") { try await daemon.progress(accepted.id).applied == 10 }
        // The status report that follows each ack: every lamp shows the level in manual mode.
        try await waitUntil("every lamp reported the level") {
            try await daemon.lamps("limit=10").filter { $0.reported?.mode == "manual" && $0.reported?.level == 40 }.count == 10
        }

        let url = try #require(URL(string: daemon.api.replacingOccurrences(of: "/api/v1", with: "/metrics")))
        let (data, response) = try await URLSession.shared.data(from: url)
        #expect((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("text/plain") == true)
        let samples = try Self.parse(String(decoding: data, as: UTF8.self))
        func value(_ name: String, _ labels: [String] = []) -> Double? {
            samples.first { $0.name == name && labels.allSatisfy($0.labels.contains) }?.value
        }
        #expect(value("lamplighter_links_open") == 10)
        #expect(value("lamplighter_lamps") == 10)
        #expect(value("lamplighter_handshakes_total", [#"outcome="accepted""#]) == 10)
        #expect(value("lamplighter_frames_total", [#"direction="out""#, #"type="setLevel""#]) == 10)
        #expect(value("lamplighter_frames_total", [#"direction="in""#, #"type="hello""#]) == 10)
        #expect(value("lamplighter_command_applied_seconds_count") == 10)
        #expect(value("lamplighter_lamps_by_mode", [#"mode="manual""#]) == 10)
        #expect((value("lamplighter_store_write_seconds_count", [#"operation="command""#]) ?? 0) >= 1)
        #expect(value("lamplighter_build_info", [#"version="\#(LamplighterVersion.current)""#]) == 1)
        // The allocator's own count: a daemon with 10 links holds at least a megabyte, and
        // less than the process's whole address space would suggest (glibc here: always known).
        let heap = try #require(value("lamplighter_heap_in_use_bytes"))
        #expect(heap > 1_000_000 && heap < 2_000_000_000, "heap in use \(heap)")
        #expect(try #require(value("lamplighter_heap_free_held_bytes")) >= 0)
        _ = try sim.finish()
    }
}
