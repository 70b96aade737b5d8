import LampProtocol

/// What an operator's command does, typed from the API to the store. The audit log and the
/// command's record show ``description``, rendered from the type, and the store keeps that
/// text, which ``init(parsing:)`` reads back.
public enum CommandAction: Hashable, Sendable, CustomStringConvertible {
    /// Hold a level.
    case level(Level, fade: FadeTime)
    /// Switch on (full, within the lamp's maximum) or off.
    case switched(on: Bool, fade: FadeTime)
    /// Hold a level for a while, then follow the program again.
    case override(Level, seconds: UInt32, fade: FadeTime)
    /// Follow the program.
    case resume(fade: FadeTime)
    /// Blink for a while, to be found in the street; sent once to the lamps linked now.
    case identify(seconds: UInt16)
    /// Restart; sent once to the lamps linked now.
    case reboot

    /// The desired control intent this action sets, given the time it is accepted; nil for
    /// identify and reboot, which change no desired state.
    public func intent(atMilliseconds now: UInt64) -> ControlIntent? {
        switch self {
        case .level(let level, _): .level(level)
        case .switched(let on, _): .switched(on: on)
        case .override(let level, let seconds, _): .override(level, untilMilliseconds: now + UInt64(seconds) * 1000)
        case .resume: .program
        case .identify, .reboot: nil
        }
    }

    /// The fade of a desired-state action.
    public var fade: FadeTime {
        switch self {
        case .level(_, let fade), .switched(_, let fade), .override(_, _, let fade), .resume(let fade): fade
        case .identify, .reboot: .immediate
        }
    }

    /// Whether the action is sent once (identify, reboot) rather than made desired state.
    public var isOnce: Bool {
        switch self {
        case .identify, .reboot: true
        default: false
        }
    }

    /// E.g. `level 30.0% fade 2.0s`, `override 50.0% for 600s fade 0.0s`, `identify for 10s`.
    public var description: String {
        switch self {
        case .level(let level, let fade): "level \(level) fade \(fade)"
        case .switched(let on, let fade): "\(on ? "on" : "off") fade \(fade)"
        case .override(let level, let seconds, let fade): "override \(level) for \(seconds)s fade \(fade)"
        case .resume(let fade): "resume fade \(fade)"
        case .identify(let seconds): "identify for \(seconds)s"
        case .reboot: "reboot"
        }
    }

    /// Reads ``description`` back; nil for any other text.
    public init?(parsing text: String) {
        let words = text.split(separator: " ").map(String.init)
        func level(_ word: String) -> Level? {
            guard word.hasSuffix("%"), let tenths = CommandAction.tenths(String(word.dropLast())) else { return nil }
            return Level(permille: tenths)
        }
        func fade(_ words: ArraySlice<String>) -> FadeTime? {
            guard words.count == 2, words.first == "fade", let last = words.last, last.hasSuffix("s"),
                let tenths = CommandAction.tenths(String(last.dropLast())), let deciseconds = UInt8(exactly: tenths)
            else { return nil }
            return FadeTime(deciseconds: deciseconds)
        }
        func seconds(_ word: String) -> UInt32? {
            guard word.hasSuffix("s") else { return nil }
            return UInt32(word.dropLast())
        }
        switch words.first {
        case "level":
            guard words.count == 4, let level = level(words[1]), let fade = fade(words[2...]) else { return nil }
            self = .level(level, fade: fade)
        case "on", "off":
            guard words.count == 3, let fade = fade(words[1...]) else { return nil }
            self = .switched(on: words[0] == "on", fade: fade)
        case "override":
            guard words.count == 6, let level = level(words[1]), words[2] == "for", let duration = seconds(words[3]),
                let fade = fade(words[4...])
            else { return nil }
            self = .override(level, seconds: duration, fade: fade)
        case "resume":
            guard words.count == 3, let fade = fade(words[1...]) else { return nil }
            self = .resume(fade: fade)
        case "identify":
            guard words.count == 3, words[1] == "for", let duration = seconds(words[2]), let short = UInt16(exactly: duration) else {
                return nil
            }
            self = .identify(seconds: short)
        case "reboot":
            guard words.count == 1 else { return nil }
            self = .reboot
        default:
            return nil
        }
    }

    /// "30.5" as 305; nil unless digits, a point and one digit.
    private static func tenths(_ text: String) -> Int? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].count == 1, let whole = Int(parts[0]), let tenth = Int(parts[1]), whole >= 0 else { return nil }
        return whole * 10 + tenth
    }
}
