import LampProtocol

/// What the operator wants a lamp to do, as one versioned document (SPEC.md §8.0).
///
/// Every control intent is complete on its own: the latest one alone says what the lamp
/// should do, so a lamp that was away converges to it without replaying older ones.
public enum ControlIntent: Hashable, Sendable {
    /// Follow the lighting program.
    case program
    /// Hold a level until told otherwise.
    case level(Level)
    /// Switched on (full, within the lamp's maximum) or off, until told otherwise.
    case switched(on: Bool)
    /// Hold a level until `untilMilliseconds` (Unix ms, UTC), then follow the program.
    case override(Level, untilMilliseconds: UInt64)

    /// The level the lamp should show now, or nil when the program decides.
    public func level(atMilliseconds now: UInt64) -> Level? {
        switch self {
        case .program: nil
        case .level(let level): level
        case .switched(let on): on ? .full : .off
        case .override(let level, let until): now < until ? level : nil
        }
    }
}

/// The control part of a lamp's desired state, with its version.
public struct DesiredControl: Hashable, Sendable {
    /// Increases by one with every change; 0 means no control state was ever set.
    public var version: UInt32
    /// What the lamp should do.
    public var intent: ControlIntent
    /// How fast to get there.
    public var fade: FadeTime

    /// A desired control state.
    public init(version: UInt32, intent: ControlIntent, fade: FadeTime) {
        self.version = version
        self.intent = intent
        self.fade = fade
    }

    /// The state of a newly registered lamp: nothing asked yet, so nothing to send.
    public static let initial = DesiredControl(version: 0, intent: .program, fade: .immediate)

    /// The message that brings a lamp to this state at time `now` (SPEC.md §8.3 to §8.6).
    ///
    /// An override that has already expired is sent as resumeProgram with the same version:
    /// the lamp ends in the very state it would have reached by applying the override and
    /// letting it run out. One still running is sent with its remaining duration.
    ///
    /// A lamp that cannot dim (SPEC.md §5.2, §6.1) gets `switch` for a level (on at full for
    /// any level above 0) and an override at full or off.
    public func message(atMilliseconds now: UInt64, dimmable: Bool = true) -> LampMessage {
        switch intent {
        case .program:
            return .resumeProgram(ResumeProgram(version: version, fade: fade))
        case .level(let level) where !dimmable:
            return .switch(Switch(version: version, on: level.isOn, fade: fade))
        case .level(let level):
            return .setLevel(SetLevel(version: version, level: level, fade: fade))
        case .switched(let on):
            return .switch(Switch(version: version, on: on, fade: fade))
        case .override(let level, let until):
            guard until > now else {
                return .resumeProgram(ResumeProgram(version: version, fade: fade))
            }
            let remaining = (until - now + 999) / 1000
            let seconds = UInt32(min(remaining, UInt64(LampProtocolLimits.maximumOverrideSeconds)))
            let shown = dimmable ? level : (level.isOn ? Level.full : Level.off)
            // `seconds` lies in 1...maximumOverrideSeconds: until > now makes it at least 1.
            return .override(Override(version: version, level: shown, fade: fade, durationSeconds: seconds)!)
        }
    }
}

/// The configuration part of a lamp's desired state (SPEC.md §8.7), with its version.
public struct DesiredConfig: Hashable, Sendable {
    /// Increases by one with every change.
    public var version: UInt32
    /// Seconds between status reports.
    public var reportIntervalSeconds: UInt16
    /// Level with no program, clock or controller.
    public var failSafeLevel: Level
    /// Level at power-up.
    public var powerOnLevel: Level
    /// Lowest lit level.
    public var minLevel: Level
    /// Highest level.
    public var maxLevel: Level

    /// A desired configuration.
    public init(
        version: UInt32, reportIntervalSeconds: UInt16, failSafeLevel: Level, powerOnLevel: Level, minLevel: Level,
        maxLevel: Level
    ) {
        self.version = version
        self.reportIntervalSeconds = reportIntervalSeconds
        self.failSafeLevel = failSafeLevel
        self.powerOnLevel = powerOnLevel
        self.minLevel = minLevel
        self.maxLevel = maxLevel
    }

    /// The configuration every lamp gets when registered: reports every 60 s, full light
    /// as fail-safe and at power-up (a dark street is the unsafe failure), full range.
    public static let initial = DesiredConfig(
        version: 1, reportIntervalSeconds: 60, failSafeLevel: .full, powerOnLevel: .full,
        // 1 lies within 0...1000, so this level exists.
        minLevel: Level(permille: 1)!, maxLevel: .full)

    /// The config message, or nil if the values are inconsistent (minimum above maximum).
    public var message: LampMessage? {
        Config(
            configVersion: version, reportIntervalSeconds: reportIntervalSeconds, failSafeLevel: failSafeLevel,
            powerOnLevel: powerOnLevel, minLevel: minLevel, maxLevel: maxLevel
        ).map { .config($0) }
    }
}

/// The program part of a lamp's desired state (SPEC.md §8.10), with its revision.
public struct DesiredProgram: Hashable, Sendable {
    /// Increases with every change of the lamp's program (assignment, new definition,
    /// moved lamp); 0: never set, nothing to send.
    public var revision: UInt32
    /// The program's name, or nil for none (a removal).
    public var name: String?
    /// The frames that carry it, for this lamp's place; nil with revision 0.
    public var frames: ProgramFrames?

    /// A desired program.
    public init(revision: UInt32, name: String?, frames: ProgramFrames?) {
        self.revision = revision
        self.name = name
        self.frames = frames
    }

    /// No program was ever set.
    public static let none = DesiredProgram(revision: 0, name: nil, frames: nil)
}

/// A lamp's whole desired state.
public struct DesiredState: Hashable, Sendable {
    /// Mode and level.
    public var control: DesiredControl
    /// Configuration.
    public var config: DesiredConfig
    /// Lighting program.
    public var program: DesiredProgram

    /// A desired state.
    public init(control: DesiredControl, config: DesiredConfig, program: DesiredProgram = .none) {
        self.control = control
        self.config = config
        self.program = program
    }

    /// The desired state of a newly registered lamp.
    public static let initial = DesiredState(control: .initial, config: .initial)
}
