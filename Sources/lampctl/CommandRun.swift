import ArgumentParser
import Dispatch
import Foundation
import OperatorAPI
import OperatorClient

/// Sends a command and follows it: a live progress line while lamps apply it, then a summary
/// that names lamps that refused it and counts those it has yet to reach.
///
/// The wait ends when every online lamp has answered: an offline lamp gets level, on, off,
/// override and resume when it reconnects (pending delivery, not a failure), and identify
/// and reboot only ever go to the lamps online at that moment. Exit 0 then; 1 when a lamp
/// refused it or an online lamp did not answer within `--wait`; with `--wait-all` the wait
/// is for the offline lamps too, and 2 says some are still pending at `--wait`.
enum CommandRun {
    /// Exit status: lamps are still pending delivery at `--wait` (only with `--wait-all`).
    static let stillPending = ExitCode(2)

    /// `all`, `group:NAME`, `lamp:ID`, or a bare lamp id.
    static func target(_ text: String) -> String {
        text == "all" || text.hasPrefix("group:") || text.hasPrefix("lamp:") ? text : "lamp:" + text
    }

    /// Sends `request`, then follows it.
    static func run(_ request: CommandRequest, options: ClientOptions, wait: FollowOptions) async throws {
        let client = options.client
        // Trapped before the command is sent: Ctrl-C at any moment gets an answer.
        let interrupt = Interrupt.install()
        let accepted = try await Exit.call { try await client.command(request) }
        try await follow(accepted.id, options: options, wait: wait, interrupt: interrupt)
    }

    /// Whether an action goes only to the lamps online when it is sent.
    static func isOnce(_ action: String) -> Bool {
        action.hasPrefix("identify") || action.hasPrefix("reboot")
    }

    /// Follows a command until every online lamp (with `--wait-all`: every lamp) answered, or
    /// `--wait` seconds; prints the summary and ends with the exit status it deserves.
    static func follow(_ id: Int64, options: ClientOptions, wait: FollowOptions, interrupt trapped: Interrupt? = nil) async throws {
        let client = options.client
        let began = Date()
        let live = isatty(STDERR_FILENO) == 1 && !options.json
        let interrupt = trapped ?? Interrupt.install()
        interrupt.following(id)
        defer { interrupt.cancel() }
        var progress: CommandProgress
        while true {
            progress = try await Exit.call { try await client.progress(id) }
            let elapsed = Date().timeIntervalSince(began)
            if live {
                interrupt.lineStarted()
                FileHandle.standardError.write(Data(("\r" + line(progress, elapsed: elapsed) + "   ").utf8))
            }
            if isDone(progress, waitAll: wait.waitAll) || elapsed >= wait.wait { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        interrupt.cancel()
        if live { FileHandle.standardError.write(Data("\n".utf8)) }
        if options.json {
            try options.printJSON(progress)
        } else {
            print(summary(progress, elapsed: Date().timeIntervalSince(began), wait: wait.wait))
        }
        let onlinePending = progress.pending - progress.offline
        if progress.failed > 0 || onlinePending > 0 {
            throw Exit.incomplete
        }
        if wait.waitAll && progress.pending > 0 && !isOnce(progress.action) {
            throw stillPending
        }
    }

    /// Whether following can stop: no online lamp is pending (with `waitAll`: none at all,
    /// except for identify and reboot, which never reach an offline lamp).
    static func isDone(_ progress: CommandProgress, waitAll: Bool) -> Bool {
        if waitAll && !isOnce(progress.action) { return progress.pending == 0 }
        return progress.pending <= progress.offline
    }

    static func line(_ progress: CommandProgress, elapsed: Double) -> String {
        var text = "applied \(grouped(progress.applied)) / \(grouped(progress.total)), " + String(format: "%.1f s", elapsed)
        if progress.failed > 0 { text += ", \(grouped(progress.failed)) refused" }
        if progress.offline > 0 { text += ", \(grouped(progress.offline)) offline" }
        return text
    }

    static func summary(_ progress: CommandProgress, elapsed: Double, wait: Double = 30) -> String {
        var lines = ["command \(progress.id): \(progress.action) to \(progress.target)"]
        var applied = "applied \(grouped(progress.applied)) / \(grouped(progress.total))"
        if let latency = progress.appliedLatency {
            applied += String(format: " (acknowledged within %.0f ms; median %.0f ms)", latency.max, latency.p50)
        }
        lines.append(applied)
        if progress.offline > 0 {
            let lamps = progress.offline == 1 ? "1 offline lamp" : "\(grouped(progress.offline)) offline lamps"
            if isOnce(progress.action) {
                lines.append("not sent to \(lamps): identify and reboot go only to the lamps online at that moment")
            } else {
                lines.append(
                    "pending delivery to \(lamps): "
                        + (progress.offline == 1 ? "it gets it when it reconnects" : "they get it when they reconnect")
                        + " ('lampctl command \(progress.id)' follows it)")
            }
        }
        let onlinePending = progress.pending - progress.offline
        if onlinePending > 0 {
            lines.append(
                "no answer yet from \(grouped(onlinePending)) online lamps after \(String(format: "%.0f", wait)) s ('lampctl command \(progress.id)' follows it)")
        }
        if progress.failed > 0 {
            lines.append("refused by \(grouped(progress.failed)): " + progress.failedLamps.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    /// 9812 as "9,812".
    static func grouped(_ value: Int) -> String {
        let digits = Array(String(value))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }

    /// "90s", "30m", "2h", "1h30m" or plain seconds.
    static func seconds(_ text: String) -> Int? {
        if let plain = Int(text) { return plain }
        var total = 0
        var number = ""
        for character in text {
            if character.isNumber {
                number.append(character)
                continue
            }
            guard let value = Int(number) else { return nil }
            switch character {
            case "h": total += value * 3600
            case "m": total += value * 60
            case "s": total += value
            default: return nil
            }
            number = ""
        }
        return number.isEmpty && total > 0 ? total : nil
    }
}

/// How long a command is followed.
struct FollowOptions: ParsableArguments {
    @Option(help: "Seconds to follow the command before giving up waiting.") var wait: Double = 30
    @Flag(help: "Wait for offline lamps too (they get the command when they reconnect); exit 2 if some are still pending at --wait.")
    var waitAll = false

    func validate() throws {
        guard wait >= 0 else { throw ValidationError("--wait must not be negative") }
    }
}

/// Ctrl-C while a command is followed: the command stays in effect (it is durable on the
/// daemon), so say so, and how to follow it again, instead of leaving a half line.
final class Interrupt: @unchecked Sendable {
    private let source: any DispatchSourceSignal
    private let lock = NSLock()
    private var lineOpen = false
    private var command: Int64?

    private init(source: any DispatchSourceSignal) {
        self.source = source
    }

    /// Traps SIGINT until ``cancel()``.
    static func install() -> Interrupt {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let interrupt = Interrupt(source: source)
        source.setEventHandler {
            let (open, command) = interrupt.lock.withLock { (interrupt.lineOpen, interrupt.command) }
            var text = open ? "\n" : ""
            if let id = command {
                text += "lampctl: stopped following command \(id); the command stays in effect (lamps that have not applied it yet still get it). Follow it again with: lampctl command \(id)\n"
            } else {
                text += "lampctl: interrupted before lamplighterd answered; the command may have been accepted ('lampctl audit --limit 5' shows it)\n"
            }
            FileHandle.standardError.write(Data(text.utf8))
            exit(130)
        }
        source.resume()
        return interrupt
    }

    /// The command being followed now.
    func following(_ id: Int64) {
        lock.withLock { command = id }
    }

    /// A progress line is on the terminal, unfinished.
    func lineStarted() {
        lock.withLock { lineOpen = true }
    }

    /// Restores Ctrl-C's default.
    func cancel() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
