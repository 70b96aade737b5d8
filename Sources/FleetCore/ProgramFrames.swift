import LampProtocol
import LightingPrograms

/// A lighting program as the frames that carry it to one lamp (SPEC.md §8.10, §8.11), and
/// back: the controller builds them, a lamp (or the simulator) reads them.
public struct ProgramFrames: Hashable, Sendable {
    /// The header: revision, counts, the lamp's place and time-zone rule.
    public var header: ProgramHeader
    /// The pages, in order.
    public var pages: [ProgramPage]

    /// Why a program cannot be sent.
    public struct Invalid: Error, Hashable, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The frames of `program` at `place` as revision `revision`; nil program: a removal.
    public init(revision: UInt32, program: LightingProgram?, place: Place) throws(Invalid) {
        let entries = try (program?.entries ?? []).map { entry throws(Invalid) in try Self.wire(entry) }
        guard entries.count <= ProgramHeader.maximumEntries else {
            throw Invalid(description: "at most \(ProgramHeader.maximumEntries) entries")
        }
        let skip = program?.skipShorterThanMinutes ?? 0
        guard
            let header = ProgramHeader(
                revision: revision, entryCount: UInt8(entries.count), skipShorterMinutes: UInt16(clamping: skip),
                latitudeMicrodegrees: Int32((place.latitude * 1_000_000).rounded()),
                longitudeMicrodegrees: Int32((place.longitude * 1_000_000).rounded()), timeZone: place.timeZone.text)
        else {
            throw Invalid(description: "the place or time-zone rule cannot be sent (rule 1 to 63 bytes, no spaces)")
        }
        self.header = header
        var pages: [ProgramPage] = []
        var start = 0
        while start < entries.count {
            let end = min(start + ProgramPage.maximumEntries, entries.count)
            // 1...16 entries and a page number below 4: the initializer cannot fail.
            pages.append(ProgramPage(revision: revision, page: UInt8(pages.count), entries: Array(entries[start..<end]))!)
            start = end
        }
        self.pages = pages
    }

    /// Frames received from the controller.
    public init(header: ProgramHeader, pages: [ProgramPage]) {
        self.header = header
        self.pages = pages
    }

    /// The revision.
    public var revision: UInt32 { header.revision }

    /// The same program for a lamp elsewhere: a new header, the same pages (an array many
    /// lamps share, not a copy each).
    public func placed(at place: Place) throws(Invalid) -> ProgramFrames {
        guard
            let header = ProgramHeader(
                revision: header.revision, entryCount: header.entryCount, skipShorterMinutes: header.skipShorterMinutes,
                latitudeMicrodegrees: Int32((place.latitude * 1_000_000).rounded()),
                longitudeMicrodegrees: Int32((place.longitude * 1_000_000).rounded()), timeZone: place.timeZone.text)
        else {
            throw Invalid(description: "the place or time-zone rule cannot be sent (rule 1 to 63 bytes, no spaces)")
        }
        return ProgramFrames(header: header, pages: pages)
    }

    /// The same frames under another revision (a program re-sent after a change).
    public func withRevision(_ revision: UInt32) -> ProgramFrames {
        var copy = self
        copy.header.revision = revision
        for index in copy.pages.indices { copy.pages[index].revision = revision }
        return copy
    }

    /// The program and place they carry; throws if the rule or an entry cannot be run.
    public func program() throws(Invalid) -> (LightingProgram, Place) {
        let zone: PosixTimeZone
        do {
            zone = try PosixTimeZone(header.timeZone)
        } catch {
            throw Invalid(description: "time-zone rule: \(error.message)")
        }
        var entries: [ProgramEntry] = []
        for page in pages {
            for wire in page.entries {
                entries.append(try Self.entry(wire))
            }
        }
        let place = Place(
            latitude: Double(header.latitudeMicrodegrees) / 1_000_000, longitude: Double(header.longitudeMicrodegrees) / 1_000_000,
            timeZone: zone)
        return (LightingProgram(entries: entries, skipShorterThanMinutes: Int(header.skipShorterMinutes)), place)
    }

    static func wire(_ entry: ProgramEntry) throws(Invalid) -> ProgramEntryWire {
        let (trigger, offset): (UInt8, Int)
        switch entry.trigger {
        case .time(let minutes): (trigger, offset) = (0, minutes)
        case .sunset(let value): (trigger, offset) = (1, value)
        case .sunrise(let value): (trigger, offset) = (2, value)
        case .dusk(let value): (trigger, offset) = (3, value)
        case .dawn(let value): (trigger, offset) = (4, value)
        }
        guard let level = Level(permille: Int(entry.level)),
            let wire = ProgramEntryWire(
                trigger: trigger, offsetMinutes: Int16(clamping: offset), level: level,
                fade: FadeTime(deciseconds: entry.fadeDeciseconds), days: entry.days.rawValue,
                fromMonth: UInt8(entry.season?.from.month ?? 0), fromDay: UInt8(entry.season?.from.day ?? 0),
                toMonth: UInt8(entry.season?.to.month ?? 0), toDay: UInt8(entry.season?.to.day ?? 0))
        else { throw Invalid(description: "an entry is out of range") }
        return wire
    }

    static func entry(_ wire: ProgramEntryWire) throws(Invalid) -> ProgramEntry {
        let offset = Int(wire.offsetMinutes)
        let trigger: Trigger
        switch wire.trigger {
        case 0: trigger = .time(minutes: offset)
        case 1: trigger = .sunset(offset: offset)
        case 2: trigger = .sunrise(offset: offset)
        case 3: trigger = .dusk(offset: offset)
        case 4: trigger = .dawn(offset: offset)
        default: throw Invalid(description: "unknown trigger \(wire.trigger)")
        }
        var season: SeasonalRange?
        if wire.fromMonth != 0, let from = MonthDay(month: Int(wire.fromMonth), day: Int(wire.fromDay)),
            let to = MonthDay(month: Int(wire.toMonth), day: Int(wire.toDay))
        {
            season = SeasonalRange(from: from, to: to)
        }
        return ProgramEntry(
            trigger: trigger, level: wire.level.permille, fadeDeciseconds: wire.fade.deciseconds, days: Weekdays(rawValue: wire.days),
            season: season)
    }
}
