// Enumerations on the wire are open (SPEC.md §9): a value this version does not know is
// kept as data, never a decoding error, so a newer lamp can talk to an older controller.

/// What a lamp is following (status report, SPEC.md §7.1).
public struct LampMode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The three-bit wire value.
    public let rawValue: UInt8

    /// A mode from its wire value; values above 7 do not fit the field.
    public init?(rawValue: UInt8) {
        guard rawValue <= 7 else { return nil }
        self.rawValue = rawValue
    }

    private init(_ value: UInt8) { self.rawValue = value }

    /// Running its lighting program.
    public static let program = LampMode(0)
    /// A temporary override that ends by itself and resumes the program.
    public static let override = LampMode(1)
    /// A manual level set by the controller, kept until the next command.
    public static let manual = LampMode(2)
    /// The fail-safe level: no usable program or clock and no controller.
    public static let failSafe = LampMode(3)

    /// The mode's name, or `mode-N` for a value this version does not know.
    public var description: String {
        switch rawValue {
        case 0: "program"
        case 1: "override"
        case 2: "manual"
        case 3: "failSafe"
        default: "mode-" + String(rawValue)
        }
    }
}

/// Lamp fault bits (status report and events, SPEC.md §7.3). Unknown bits are kept.
public struct FaultSet: OptionSet, Hashable, Sendable {
    /// The 16-bit wire value.
    public let rawValue: UInt16
    /// A set from its wire value.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The light source has failed (open circuit, no current).
    public static let lampFailure = FaultSet(rawValue: 1 << 0)
    /// The driver (DALI control gear) reports a failure.
    public static let driverFailure = FaultSet(rawValue: 1 << 1)
    /// The driver or luminaire is over temperature.
    public static let overTemperature = FaultSet(rawValue: 1 << 2)
    /// Mains supply out of range or interrupted.
    public static let supplyFailure = FaultSet(rawValue: 1 << 3)
    /// The switching relay does not follow its command.
    public static let relayFailure = FaultSet(rawValue: 1 << 4)
    /// The lamp's internal bus to the driver does not answer.
    public static let busFailure = FaultSet(rawValue: 1 << 5)
    /// The real-time clock lost its time (program runs on fail-safe until set).
    public static let clockLost = FaultSet(rawValue: 1 << 6)
    /// The ambient light sensor failed.
    public static let lightSensorFailure = FaultSet(rawValue: 1 << 7)
    /// The lamp switches on and off by itself (cycling).
    public static let cycling = FaultSet(rawValue: 1 << 8)
}

/// What a lamp can do (hello, SPEC.md §5.2). Unknown bits are kept.
public struct Capabilities: OptionSet, Hashable, Sendable {
    /// The 16-bit wire value.
    public let rawValue: UInt16
    /// A set from its wire value.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Levels between off and full are possible (else only 0 and 1000).
    public static let dimmable = Capabilities(rawValue: 1 << 0)
    /// The lamp stores and runs lighting programs itself.
    public static let programs = Capabilities(rawValue: 1 << 1)
    /// The lamp measures its power and energy.
    public static let energyMeter = Capabilities(rawValue: 1 << 2)
    /// The lamp measures its temperature.
    public static let temperature = Capabilities(rawValue: 1 << 3)
    /// The lamp has an ambient light sensor.
    public static let ambientLight = Capabilities(rawValue: 1 << 4)
    /// The lamp has a battery-backed real-time clock.
    public static let realTimeClock = Capabilities(rawValue: 1 << 5)
}

/// The kind of a lamp event (SPEC.md §7.2).
public struct EventKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The wire value.
    public let rawValue: UInt8
    /// A kind from its wire value; every value is kept.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// A fault bit became set; the detail is the bit's index.
    public static let faultRaised = EventKind(rawValue: 1)
    /// A fault bit became clear; the detail is the bit's index.
    public static let faultCleared = EventKind(rawValue: 2)
    /// The lamp powered up; the detail is the count of power-ups, saturating at 65535.
    public static let powerUp = EventKind(rawValue: 3)
    /// The lamp's clock lost its time; the detail is 0.
    public static let clockLost = EventKind(rawValue: 4)

    /// The kind's name, or `event-N` for a value this version does not know.
    public var description: String {
        switch rawValue {
        case 1: "faultRaised"
        case 2: "faultCleared"
        case 3: "powerUp"
        case 4: "clockLost"
        default: "event-" + String(rawValue)
        }
    }
}

/// Why a request was refused (negative acknowledgement, SPEC.md §8.2).
public struct NackReason: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The wire value.
    public let rawValue: UInt8
    /// A reason from its wire value; every value is kept.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The message could not be decoded.
    public static let malformed = NackReason(rawValue: 1)
    /// The message type is unknown to the receiver.
    public static let unknownType = NackReason(rawValue: 2)
    /// The version is older than the one already applied.
    public static let staleVersion = NackReason(rawValue: 3)
    /// The lamp lacks the capability the request needs (e.g. dimming).
    public static let unsupported = NackReason(rawValue: 4)
    /// The message is valid but not allowed in the current state (e.g. before hello).
    public static let unexpected = NackReason(rawValue: 5)
    /// The lamp cannot act now (e.g. a reboot is already under way); retry later.
    public static let busy = NackReason(rawValue: 6)
    /// The lamp failed while applying the request.
    public static let internalError = NackReason(rawValue: 7)

    /// The reason's name, or `reason-N` for a value this version does not know.
    public var description: String {
        switch rawValue {
        case 1: "malformed"
        case 2: "unknownType"
        case 3: "staleVersion"
        case 4: "unsupported"
        case 5: "unexpected"
        case 6: "busy"
        case 7: "internalError"
        default: "reason-" + String(rawValue)
        }
    }
}
