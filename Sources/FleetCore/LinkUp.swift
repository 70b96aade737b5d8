import LampProtocol

/// The versions a lamp's hello reports, as the controller takes them (SPEC.md §5.4, §8.0).
public struct ReportedVersions: Hashable, Sendable {
    /// Control-state version applied.
    public var control: UInt32
    /// Config version applied.
    public var config: UInt32
    /// Program revision held.
    public var program: UInt32

    /// Versions.
    public init(control: UInt32, config: UInt32, program: UInt32) {
        self.control = control
        self.config = config
        self.program = program
    }

    /// Nothing applied.
    public static let none = ReportedVersions(control: 0, config: 0, program: 0)

    /// What `hello` proves to a controller whose database has `epoch`: its versions, or none
    /// when a minor-2 lamp's epoch is another database's (its versions name states this
    /// controller never issued, so it gets its whole desired state again, SPEC.md §5.4).
    public init(_ hello: Hello, fleetEpoch epoch: FleetEpoch) {
        if hello.carriesFleetEpoch && hello.fleetEpoch != epoch {
            self = .none
        } else {
            self.init(control: hello.appliedVersion, config: hello.configVersion, program: hello.programRevision)
        }
    }
}

/// What a lamp's authentication changed in the fleet (``FleetModel/linkUp(_:atMilliseconds:)``).
public struct LinkUp: Sendable {
    /// What the lamp's hello announced, and what the controller makes of it.
    public enum Outcome: Hashable, Sendable {
        /// Its versions are the controller's: bring it to the desired state.
        case current
        /// Its epoch is another database's: its versions count as 0 (SPEC.md §5.4).
        case otherEpoch
        /// A version lay above the lamp's desired one (a restored backup, a 1.1 lamp from
        /// another database): the sequence moved past it and the desired state was issued
        /// again at fresh versions, to be stored and sent (SPEC.md §8.0).
        case ahead
        /// A version equal to the desired one had no ack of this run behind it (a restart; the
        /// database may be a restored backup that hands numbers out again): the desired state
        /// was issued again at fresh versions, to be stored and sent (SPEC.md §8.0).
        case unproven
        /// A version lay more than ``LampProtocolLimits/maximumVersionJump`` above the
        /// sequence: close with 4005, change nothing.
        case tooFarAhead(reported: UInt32)
    }

    /// The lamp's slot.
    public var slot: Int
    /// Its desired state (issued again when ``outcome`` is ``Outcome/ahead``).
    public var desired: DesiredState
    /// The versions the link starts from.
    public var reported: ReportedVersions
    /// How the hello's versions were taken.
    public var outcome: Outcome
    /// Among several controllers (``FleetModel/controlVersionsShared``), when the desired
    /// control is to be issued again: the version the shared counter must give one above;
    /// ``desired`` still holds the old one.
    public var controlVersionWanted: UInt32? = nil
}
