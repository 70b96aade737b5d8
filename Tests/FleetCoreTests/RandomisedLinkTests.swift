import FleetCore
import LampProtocol
import Testing

/// The link contract under thousands of seeded schedules (issue 11): the real `FleetModel` and
/// `LinkStateMachine` as the controller, against a model lamp that follows SPEC.md §5.4 and
/// §8.0 to the letter, every message through the codec, and an environment that loses,
/// duplicates and delays messages, drops links (an old link's answers still arrive at its
/// machine), reboots the lamp, restarts the controller, restores its database from an older
/// backup and replaces it with a fresh one. The properties are Protocol/model's:
///
/// - A: whenever the controller shows the lamp converged, the lamp holds that version with
///   the content the controller means;
/// - B: the lamp never applies an older version after a newer one (within an epoch);
/// - C: once the faults stop and a link stays up, the lamp converges and the controller
///   says so.
@Suite("Randomised link schedules")
struct RandomisedLinkTests {
    /// How many schedules; each is reproducible from its seed.
    static let schedules = 3000

    @Test("3,000 seeded schedules of loss, duplication, late answers, reconnects, reboots, restarts and restores keep A, B and C")
    func schedulesKeepTheContract() throws {
        var steps = 0
        for seed in 1...UInt64(Self.schedules) {
            var world = World(seed: seed)
            try world.run()
            steps += world.steps
        }
        // Enough happened for the run to mean something.
        #expect(steps > Self.schedules * 100)
    }
}

/// SplitMix64: small, fast, and the same on every platform.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &self) < percent }
}

/// A schedule's whole world: one lamp, the controller (memory and store), the links.
struct World {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The lamp (SPEC.md §8.0): its non-volatile applied versions, what it shows, its epoch.
    struct Lamp {
        var applied: UInt32 = 0
        var content: ControlIntent?
        var configApplied: UInt32 = 0
        var epoch = FleetEpoch.none

        /// Answers one request; throws if it would apply an older version after a newer one.
        mutating func handle(_ message: LampMessage) throws -> LampMessage? {
            switch message {
            case .setLevel(let request):
                return try control(request.version, .setLevel, .level(request.level))
            case .switch(let request):
                return try control(request.version, .switch, .switched(on: request.on))
            case .resumeProgram(let request):
                return try control(request.version, .resumeProgram, .program)
            case .config(let request):
                if request.configVersion < configApplied {
                    return .nack(Nack(ackedType: .config, ref: request.configVersion, reason: .staleVersion))
                }
                configApplied = request.configVersion
                return .ack(Ack(ackedType: .config, ref: request.configVersion))
            default:
                return nil
            }
        }

        private mutating func control(_ version: UInt32, _ type: MessageType, _ intent: ControlIntent) throws -> LampMessage {
            if version < applied { return .nack(Nack(ackedType: type, ref: version, reason: .staleVersion)) }
            if version > applied {
                // B: only ever forward (the guard above is the lamp's rule; this checks it held).
                guard version > applied else { throw Failure(description: "B: applied \(version) after \(applied)") }
                applied = version
                content = intent
            }
            return .ack(Ack(ackedType: type, ref: version))
        }

        /// A welcome: another database's epoch resets the versions (SPEC.md §5.4).
        mutating func welcomed(_ controllerEpoch: FleetEpoch) {
            if controllerEpoch != epoch {
                epoch = controllerEpoch
                applied = 0
                configApplied = 0
            }
        }
    }

    /// One link: the controller's machine for it and the bytes on the way in each direction.
    struct Link {
        var machine: LinkStateMachine
        var toLamp: [[UInt8]] = []
        var toController: [[UInt8]] = []
        var open = true
    }

    /// What the store holds.
    struct Store {
        var desired = DesiredState.initial
        var sequence: UInt32 = 0
        var epoch: FleetEpoch
    }

    var random: SeededGenerator
    let seed: UInt64
    var lamp = Lamp()
    var store: Store
    var backup: Store
    var model: FleetModel
    var links: [Link] = []
    /// The controller's current link (index into `links`), nil when the lamp is offline.
    var current: Int?
    var now: UInt64 = 1
    var steps = 0
    static let record = LampRecord(id: LampID("lamp-1")!)

    init(seed: UInt64) {
        self.seed = seed
        random = SeededGenerator(state: seed)
        store = Store(epoch: FleetEpoch(rawValue: UInt64.random(in: 1...UInt64.max, using: &random)))
        backup = store
        model = FleetModel()
        model = Self.restarted(store)
    }

    static func restarted(_ store: Store) -> FleetModel {
        var model = FleetModel(stored: [StoredLamp(record: record, desired: store.desired, reported: nil)], highestVersion: store.sequence)
        model.fleetEpoch = store.epoch
        return model
    }

    mutating func run() throws {
        for _ in 0..<Int.random(in: 80...200, using: &random) {
            try chaosStep()
            try checkSafety()
        }
        try settle()
    }

    // MARK: The environment

    mutating func chaosStep() throws {
        steps += 1
        now += UInt64.random(in: 0...40, using: &random)
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<12: command()
        case 12..<40: try deliverToLamp(faulty: true)
        case 40..<68: try deliverToController(faulty: true)
        case 68..<78: tick()
        case 78..<84: try connect()
        case 84..<88: dropLink()
        case 88..<90: lampReboots()
        case 90..<93: restartController()
        case 93..<95: backup = store
        case 95..<97: restoreBackup()
        case 97: freshDatabase()
        default: statusReport()
        }
    }

    /// The operator dims the lamp: a new version, stored, then handed to the link.
    mutating func command() {
        let level = Level(permille: Int.random(in: 0...1000, using: &random))!
        let control = DesiredControl(version: model.nextVersion(), intent: .level(level), fade: .immediate)
        let changed = model.commit([0], control: control, atMilliseconds: now)
        store.desired.control = model.lamps[0].desired.control
        store.sequence = max(store.sequence, model.lastVersion)
        guard let (_, desired) = changed.first, let index = current else { return }
        var emitted: [LinkStateMachine.Action] = []
        links[index].machine.desiredChanged(desired, atMilliseconds: now) { emitted.append($0) }
        perform(emitted, on: index)
    }

    /// The lamp connects (a new link; the older one, if any, is replaced and closed).
    mutating func connect() throws {
        if let index = current { close(index) }
        let hello = Hello(
            minorVersion: 2, lampID: Self.record.id, firmware: FirmwareVersion("model")!, capabilities: [.dimmable],
            appliedVersion: lamp.applied, configVersion: lamp.configApplied, programRevision: 0, clock: 0,
            clientNonce: Block16(high: 1, low: 2), fleetEpoch: lamp.epoch, mac: .zero)
        let decoded = try LampMessage.decode(LampMessage.hello(hello).bytes, peerMinorVersion: 2)
        guard case .hello(let received) = decoded, let up = model.linkUp(received, atMilliseconds: now) else {
            throw Failure(description: "the hello did not decode or the lamp is unknown")
        }
        if case .tooFarAhead = up.outcome { return }
        if up.outcome == .ahead || up.outcome == .unproven {
            // Stored as LampLinkHandler does; a newer stored control version wins.
            if up.desired.control.version >= store.desired.control.version { store.desired = up.desired }
            store.sequence = max(store.sequence, model.lastVersion)
        }
        // The welcome travels first on the new link, before any request.
        lamp.welcomed(store.epoch)
        var machine = LinkStateMachine(hello: received, desired: up.desired, reported: up.reported, requestTimeoutMilliseconds: 100)
        var emitted: [LinkStateMachine.Action] = []
        machine.start(atMilliseconds: now) { emitted.append($0) }
        links.append(Link(machine: machine))
        current = links.count - 1
        perform(emitted, on: links.count - 1)
    }

    /// The current link ends: the lamp is offline; what was on its way may still arrive at
    /// the old machine (the controller's side of a connection closes a little later).
    mutating func dropLink() {
        guard let index = current else { return }
        close(index)
        if random.chance(50) { links[index].toLamp.removeAll() }
    }

    mutating func close(_ index: Int) {
        links[index].open = false
        current = nil
        model.linkDown(0, atMilliseconds: now)
    }

    mutating func lampReboots() {
        // Non-volatile versions and epoch survive; the link does not.
        dropLink()
    }

    mutating func restartController() {
        if let index = current { links[index].open = false }
        current = nil
        links.removeAll()
        model = Self.restarted(store)
    }

    mutating func restoreBackup() {
        store = backup
        restartController()
    }

    mutating func freshDatabase() {
        store = Store(epoch: FleetEpoch(rawValue: UInt64.random(in: 1...UInt64.max, using: &random)))
        backup = store
        restartController()
    }

    mutating func tick() {
        for index in links.indices where links[index].open {
            var emitted: [LinkStateMachine.Action] = []
            links[index].machine.tick(atMilliseconds: now) { emitted.append($0) }
            perform(emitted, on: index)
        }
    }

    mutating func statusReport() {
        guard let index = current else { return }
        var report = StatusReport(
            appliedVersion: lamp.applied, level: .full, mode: .manual, isLit: true, isFading: false, powerDeciwatts: 10,
            energyWattHours: 0, burnSeconds: 0, faults: FaultSet(rawValue: 0), temperatureCelsius: nil, ambientLux: nil,
            programRevision: 0, clock: 0)
        report.appliedVersion = lamp.applied
        links[index].toController.append(LampMessage.statusReport(report).bytes)
    }

    /// One message to the lamp on some link (the current one, or an old one's leftovers,
    /// which a lamp no longer reads), perhaps lost or duplicated on the way.
    mutating func deliverToLamp(faulty: Bool) throws {
        guard let index = current, !links[index].toLamp.isEmpty else { return }
        let bytes = links[index].toLamp.removeFirst()
        if faulty && random.chance(10) { return }
        if faulty && random.chance(5) { links[index].toLamp.insert(bytes, at: 0) }
        let message = try LampMessage.decode(bytes, peerMinorVersion: 2)
        if let answer = try lamp.handle(message) {
            links[index].toController.append(answer.bytes)
        }
    }

    /// One answer to the controller, on any link that still has some (an old link's answers
    /// arrive at its own machine, late), perhaps lost or duplicated.
    mutating func deliverToController(faulty: Bool) throws {
        let waiting = links.indices.filter { !links[$0].toController.isEmpty }
        guard !waiting.isEmpty else { return }
        let index = waiting[Int.random(in: 0..<waiting.count, using: &random)]
        let bytes = links[index].toController.removeFirst()
        if faulty && random.chance(10) { return }
        if faulty && random.chance(5) { links[index].toController.insert(bytes, at: 0) }
        let message = try LampMessage.decode(bytes, peerMinorVersion: 2)
        var emitted: [LinkStateMachine.Action] = []
        links[index].machine.received(message, atMilliseconds: now) { emitted.append($0) }
        perform(emitted, on: index)
    }

    /// What the controller does with its machine's actions (as LampLinkHandler does).
    mutating func perform(_ actions: [LinkStateMachine.Action], on index: Int) {
        for action in actions {
            switch action {
            case .send(let message):
                if links[index].open { links[index].toLamp.append(message.bytes) }
            case .controlApplied(let version):
                _ = model.noteControlApplied(0, version: version, atMilliseconds: now)
            case .configApplied(let version):
                model.noteConfigApplied(0, version: version)
            case .refused(_, let ref, let reason):
                model.noteRefused(0, version: ref, reason: reason, atMilliseconds: now)
            default:
                break
            }
        }
    }

    // MARK: Properties

    /// A: the controller shows the lamp converged only when the lamp holds that version with
    /// the content the controller means.
    func checkSafety() throws {
        let entry = model.lamps[0]
        guard entry.desired.control.version > 0, entry.isConverged else { return }
        guard lamp.epoch == store.epoch, lamp.applied == entry.desired.control.version, lamp.content == entry.desired.control.intent else {
            throw Failure(
                description: "A, seed \(seed) step \(steps): shown converged at v\(entry.desired.control.version) "
                    + "(\(entry.desired.control.intent)) but the lamp holds v\(lamp.applied) (\(String(describing: lamp.content)))")
        }
    }

    /// C: the faults stop, one link stays up; within a bounded number of rounds the lamp
    /// holds the desired state and the controller says so.
    mutating func settle() throws {
        try connect()
        for _ in 0..<200 {
            now += 150  // past the request timeout: anything lost goes again
            tick()
            while let index = current, !links[index].toLamp.isEmpty {
                try deliverToLamp(faulty: false)
            }
            while links.contains(where: { !$0.toController.isEmpty }) {
                try deliverToController(faulty: false)
            }
            try checkSafety()
            let entry = model.lamps[0]
            if entry.isConverged && (entry.desired.control.version == 0 || lamp.content == entry.desired.control.intent) { return }
        }
        let entry = model.lamps[0]
        throw Failure(
            description: "C, seed \(seed): no convergence: desired v\(entry.desired.control.version), shown applied v\(entry.appliedVersion), "
                + "lamp v\(lamp.applied)")
    }
}
