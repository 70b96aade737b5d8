import ArgumentParser
import Foundation
import OperatorAPI
import OperatorClient

/// `lampctl watch [CHANNEL...]`: the live event stream.
struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow live events: lamps online and offline, status, faults, command progress.",
        discussion: """
            CHANNEL is fleet (the default), group:NAME or lamp:ID. One line per event, or one \
            JSON object per line with --json; --summary prints one line per command (when \
            every online lamp has answered) and per change of a lamp's state (online, \
            offline, fault, refusal, program mismatch), without status reports and progress. \
            Runs until interrupted, or --count events, or --seconds; when lamplighterd closes \
            the stream (it stops or restarts) it says so and exits 3. The server may be \
            https:// (lamplighterd with tls-certificate, or a TLS proxy): the stream is then \
            wss://, trusting --ca-file's CA if given; use the host name the certificate names.
            """)

    @OptionGroup var options: ClientOptions
    @Argument(help: "fleet, group:NAME or lamp:ID.") var channels: [String] = []
    @Option(help: "At most one status event per lamp per this many seconds, 0 to 3600 (0: all).") var statusInterval: Double = 1
    @Option(help: "Stop after this many events.") var count: Int?
    @Option(help: "Stop after this many seconds.") var seconds: Double?
    @Flag(help: "One line per command and per lamp state change; no status reports or progress.") var summary = false

    func validate() throws {
        for channel in channels where !StreamChannel.isValid(channel) {
            throw ValidationError("'\(channel)' is not a channel: fleet, group:NAME or lamp:ID")
        }
        guard (0...3600).contains(statusInterval) else { throw ValidationError("--status-interval must be from 0 to 3600") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let seconds, seconds <= 0 { throw ValidationError("--seconds must be positive") }
    }

    func run() async throws {
        let request = StreamRequest(
            op: "subscribe", channels: channels.isEmpty ? [StreamChannel.fleet] : channels,
            statusIntervalSeconds: summary ? 3600 : statusInterval)
        let stream = try await Exit.call {
            try await EventStreamClient.connect(server: options.serverURL, token: options.token, caFile: options.caFile, requests: [request])
        }
        let deadline = seconds.map { Date().addingTimeInterval($0) }
        let limit = count
        let json = options.json
        let summary = self.summary
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var seen = 0
                do {
                    for try await event in stream {
                        if event.type == "subscribed" && !json { continue }
                        if summary && !Watch.isSummaryEvent(event) { continue }
                        print(json ? Watch.jsonLine(event) : Watch.line(event))
                        fflush(nil)
                        seen += 1
                        if let limit, seen >= limit { return }
                    }
                } catch {
                    throw Exit.fail(error)
                }
                // Ended by --seconds (cancelled), or the controller closed the stream normally:
                // it is stopping or restarting.
                if Task.isCancelled { return }
                printError("lampctl: lamplighterd closed the event stream (it stopped or restarts)")
                throw Exit.unreachable
            }
            if let deadline {
                group.addTask {
                    try await Task.sleep(for: .seconds(max(0, deadline.timeIntervalSinceNow)))
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Whether `--summary` shows an event: a command's end, a change of a lamp's state.
    static func isSummaryEvent(_ event: StreamEvent) -> Bool {
        switch event.type {
        case "lamp.status", "command.progress": false
        default: true
        }
    }

    static func jsonLine(_ event: StreamEvent) -> String {
        (try? String(decoding: APICoding.encoder().encode(event), as: UTF8.self)) ?? "{}"
    }

    static let time: DateFormatter = {
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss.SSS"
        return formatter
    }()

    /// One event for people, e.g. `21:04:05.120  lamp.status  lamp-0007  30%  lit  12.5 W`.
    static func line(_ event: StreamEvent) -> String {
        var parts = [time.string(from: event.at), event.type]
        if let lamp = event.lamp { parts.append(lamp) }
        switch event.type {
        case "lamp.status":
            parts.append(event.level.map(Table.percent) ?? "?")
            parts.append(event.lit == true ? "lit" : "dark")
            if let watts = event.powerWatts { parts.append(String(format: "%.1f W", watts)) }
            if let faults = event.faults, !faults.isEmpty { parts.append("faults: " + faults.joined(separator: ", ")) }
        case "lamp.fault":
            parts.append((event.raised == true ? "raised " : "cleared ") + (event.fault ?? "?"))
        case "command.progress", "command.applied":
            if let command = event.command {
                parts.append("command \(command.id) \(command.action) to \(command.target):")
                parts.append(CommandRun.line(command, elapsed: Date().timeIntervalSince(command.createdAt)))
            }
        case "incident.opened", "incident.acknowledged", "incident.resolved":
            if let incident = event.incident {
                if let cabinet = incident.cabinet { parts.append("cabinet " + cabinet) }
                parts.append("incident \(incident.id) \(incident.kind)")
                if let by = incident.resolvedBy ?? incident.acknowledgedBy { parts.append("by " + by) }
                if !incident.detail.isEmpty { parts.append(incident.detail) }
            }
        case "error":
            parts.append(event.error ?? "")
        default:
            break
        }
        return parts.joined(separator: "  ")
    }
}
