import ArgumentParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What lampctl and lamplighterd do before ArgumentParser sees the command line: a
/// mistyped subcommand gets a "did you mean", and negative numbers are values, not options.
public enum CommandLineSupport {
    /// Runs `command`'s root with the process's arguments, after the checks above.
    public static func main<Command: AsyncParsableCommand>(_ command: Command.Type) async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let message = Suggestion.unknownSubcommand(arguments, root: command) {
            let bytes = Array("\(command._commandName): \(message)\n".utf8)
            _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
            exit(ExitCode.validationFailure.rawValue)
        }
        await command.main(NegativeNumbers.escape(arguments))
    }
}

/// "Did you mean": the nearest subcommand to a mistyped one.
public enum Suggestion {
    /// The Levenshtein distance between two strings.
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// The message for the first word of `arguments` that is not a subcommand where one is
    /// expected (nil when there is none): it names the nearest subcommand, or lists them all.
    /// Stops at the first option, since what follows may be an option's value.
    public static func unknownSubcommand(_ arguments: [String], root: any ParsableCommand.Type) -> String? {
        var command = root
        var path = [root._commandName]
        for argument in arguments {
            if argument.hasPrefix("-") || argument == "help" { return nil }
            let subcommands = command.configuration.subcommands
            guard !subcommands.isEmpty else { return nil }
            if let next = subcommands.first(where: { $0._commandName == argument || $0.configuration.aliases.contains(argument) }) {
                command = next
                path.append(next._commandName)
                continue
            }
            let names = subcommands.map { $0._commandName }
            let nearest = names.map { (name: $0, distance: distance($0, argument)) }
                .filter { $0.distance <= max(1, min(2, argument.count / 3)) || $0.name.hasPrefix(argument) }
                .min { $0.distance < $1.distance }
            let place = path.joined(separator: " ")
            if let nearest {
                return "unknown subcommand '\(argument)' of '\(place)'; did you mean '\(place) \(nearest.name)'?"
            }
            return "unknown subcommand '\(argument)' of '\(place)'; it has: \(names.joined(separator: ", ")) ('\(place) --help' says more)"
        }
        return nil
    }
}

/// Negative numbers on the command line: `lampctl dim all -5` or `--longitude -74` would
/// otherwise be read as the short option `-5` (ArgumentParser knows no negative numbers).
/// Options declared with `parsing: .unconditional` take them as values already; this moves a
/// negative number that stands where a positional argument goes behind a `--` at the end, so
/// it reaches its argument (and that argument's own check) as a value.
public enum NegativeNumbers {
    /// Whether `text` is a negative decimal number such as `-5`, `-0.5` or `-.5`.
    public static func isNegativeNumber(_ text: String) -> Bool {
        guard text.count >= 2, text.first == "-" else { return false }
        let rest = text.dropFirst()
        return Double(rest) != nil && rest.allSatisfy { $0.isNumber || $0 == "." }
    }

    /// The arguments with positional negative numbers moved behind a `--` at the end; left
    /// as they are when they hold a `--` already. A negative number right after an option
    /// name (`--longitude -74`) is that option's value and stays where it is.
    public static func escape(_ arguments: [String]) -> [String] {
        guard !arguments.contains("--") else { return arguments }
        var kept: [String] = []
        var moved: [String] = []
        for (index, argument) in arguments.enumerated() {
            let previous = index > 0 ? arguments[index - 1] : ""
            let isOptionValue = previous.hasPrefix("--") && !previous.contains("=")
            if isNegativeNumber(argument) && !isOptionValue {
                moved.append(argument)
            } else {
                kept.append(argument)
            }
        }
        return moved.isEmpty ? arguments : kept + ["--"] + moved
    }
}
