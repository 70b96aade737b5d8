import ArgumentParser
import Foundation
import OperatorAPI
import OperatorClient

/// Sends a command and follows it: a live progress line while lamps apply it, then a summary
/// that names lamps that refused it.
enum CommandRun {
    /// `all`, `group:NAME`, `lamp:ID`, or a bare lamp id.
    static func target(_ text: String) -> String {
        text == "all" || text.hasPrefix("group:") || text.hasPrefix("lamp:") ? text : "lamp:" + text
    }

    static func run(_ request: CommandRequest, options: ClientOptions, wait: Double) async throws {
        let client = options.client
        let accepted = try await Exit.call { try await client.command(request) }
        let began = Date()
        let live = isatty(STDERR_FILENO) == 1 && !options.json
        var progress: CommandProgress
        while true {
            progress = try await Exit.call { try await client.progress(accepted.id) }
            let elapsed = Date().timeIntervalSince(began)
            if live {
                FileHandle.standardError.write(Data(("\r" + line(progress, elapsed: elapsed) + "   ").utf8))
            }
            if progress.pending == 0 || elapsed >= wait { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        if live { FileHandle.standardError.write(Data("\n".utf8)) }
        if options.json {
            try options.printJSON(progress)
        } else {
            print(summary(progress, elapsed: Date().timeIntervalSince(began)))
        }
        if progress.applied < progress.total {
            throw Exit.incomplete
        }
    }

    static func line(_ progress: CommandProgress, elapsed: Double) -> String {
        var text = "applied \(grouped(progress.applied)) / \(grouped(progress.total)), " + String(format: "%.1f s", elapsed)
        if progress.failed > 0 { text += ", \(grouped(progress.failed)) refused" }
        if progress.offline > 0 { text += ", \(grouped(progress.offline)) offline" }
        return text
    }

    static func summary(_ progress: CommandProgress, elapsed: Double) -> String {
        var lines = ["command \(progress.id): \(progress.action) to \(progress.target)"]
        var applied = "applied \(grouped(progress.applied)) / \(grouped(progress.total))"
        if let latency = progress.appliedLatency {
            applied += String(format: " (acknowledged within %.0f ms; median %.0f ms)", latency.max, latency.p50)
        }
        lines.append(applied)
        if progress.pending > 0 {
            lines.append("pending \(grouped(progress.pending)) (\(grouped(progress.offline)) offline): they get it when they reconnect")
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
