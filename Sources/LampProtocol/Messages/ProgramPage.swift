/// One entry of a lighting program on the wire (SPEC.md §8.11). 11 bytes.
///
/// `trigger u8 | offset i16 | level u16 | fade u8 | days u8 | fromMonth u8 | fromDay u8 |
///  toMonth u8 | toDay u8`
public struct ProgramEntryWire: Hashable, Sendable {
    /// 0 local time, 1 sunset, 2 sunrise, 3 civil dusk, 4 civil dawn; other values are kept
    /// (a lamp refuses a program with a trigger it does not know, `unsupported`).
    public var trigger: UInt8
    /// For a local time, minutes after midnight (0...1439); for a solar trigger, minutes
    /// after it (-720...720).
    public var offsetMinutes: Int16
    public var level: Level
    public var fade: FadeTime
    /// Bit 0 Monday ... bit 6 Sunday; at least one.
    public var days: UInt8
    /// A season: from (month, day) to (month, day), both included, wrapping over New Year;
    /// all four 0 for the whole year.
    public var fromMonth: UInt8
    public var fromDay: UInt8
    public var toMonth: UInt8
    public var toDay: UInt8

    /// Size on the wire.
    public static let size = 11

    /// An entry; nil when a field is out of range.
    public init?(
        trigger: UInt8, offsetMinutes: Int16, level: Level, fade: FadeTime, days: UInt8, fromMonth: UInt8 = 0, fromDay: UInt8 = 0,
        toMonth: UInt8 = 0, toDay: UInt8 = 0
    ) {
        guard Self.offsetValid(trigger: trigger, offsetMinutes), days & 0x7F != 0, days & 0x80 == 0,
            Self.seasonValid(fromMonth, fromDay, toMonth, toDay)
        else { return nil }
        self.trigger = trigger
        self.offsetMinutes = offsetMinutes
        self.level = level
        self.fade = fade
        self.days = days
        self.fromMonth = fromMonth
        self.fromDay = fromDay
        self.toMonth = toMonth
        self.toDay = toDay
    }

    static func offsetValid(trigger: UInt8, _ offset: Int16) -> Bool {
        trigger == 0 ? (0...1439).contains(offset) : (-720...720).contains(offset)
    }

    static func seasonValid(_ fromMonth: UInt8, _ fromDay: UInt8, _ toMonth: UInt8, _ toDay: UInt8) -> Bool {
        if fromMonth == 0 && fromDay == 0 && toMonth == 0 && toDay == 0 { return true }
        return dayValid(fromMonth, fromDay) && dayValid(toMonth, toDay)
    }

    static func dayValid(_ month: UInt8, _ day: UInt8) -> Bool {
        let lengths: [UInt8] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return month >= 1 && month <= 12 && day >= 1 && day <= lengths[Int(month) - 1]
    }
}

/// Controller to lamp: up to 16 entries of the program whose header came before (SPEC.md
/// §8.11). 18 to 183 bytes.
///
/// `0x31 | revision u32 | page u8 | count u8 | entries (count × 11)`
public struct ProgramPage: WireMessage {
    static let type = MessageType.programPage
    /// The revision of the header this page belongs to (the request's ref).
    public var revision: UInt32
    /// 0...pageCount - 1, sent in order.
    public let page: UInt8
    /// 1...16 entries.
    public let entries: [ProgramEntryWire]

    /// The most entries one page carries.
    public static let maximumEntries = 16

    /// A page; nil with no entries, more than 16, or a page number beyond the fourth.
    public init?(revision: UInt32, page: UInt8, entries: [ProgramEntryWire]) {
        guard (1...Self.maximumEntries).contains(entries.count), Int(page) < ProgramHeader.maximumEntries / Self.maximumEntries
        else { return nil }
        self.revision = revision
        self.page = page
        self.entries = entries
    }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(revision)
        sink.write(page)
        sink.write(UInt8(entries.count))
        for entry in entries {
            sink.write(entry.trigger)
            sink.write(UInt16(bitPattern: entry.offsetMinutes))
            sink.write(entry.level.permille)
            sink.write(entry.fade.deciseconds)
            sink.write(entry.days)
            sink.write(entry.fromMonth)
            sink.write(entry.fromDay)
            sink.write(entry.toMonth)
            sink.write(entry.toDay)
        }
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> ProgramPage {
        let revision = try reader.readUInt32("revision")
        let pageAt = reader.offset
        let page = try reader.readUInt8("page")
        try reader.check(Int(page) < ProgramHeader.maximumEntries / maximumEntries, "page", at: pageAt)
        let countAt = reader.offset
        let count = Int(try reader.readUInt8("count"))
        try reader.check((1...maximumEntries).contains(count), "count", at: countAt)
        var entries: [ProgramEntryWire] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let trigger = try reader.readUInt8("trigger")
            let offsetAt = reader.offset
            let offset = Int16(bitPattern: try reader.readUInt16("offset"))
            try reader.check(ProgramEntryWire.offsetValid(trigger: trigger, offset), "offset", at: offsetAt)
            let level = try reader.readLevel("level")
            let fade = FadeTime(deciseconds: try reader.readUInt8("fade"))
            let daysAt = reader.offset
            let days = try reader.readUInt8("days")
            try reader.check(days & 0x7F != 0 && days & 0x80 == 0, "days", at: daysAt)
            let seasonAt = reader.offset
            let fromMonth = try reader.readUInt8("fromMonth")
            let fromDay = try reader.readUInt8("fromDay")
            let toMonth = try reader.readUInt8("toMonth")
            let toDay = try reader.readUInt8("toDay")
            try reader.check(ProgramEntryWire.seasonValid(fromMonth, fromDay, toMonth, toDay), "season", at: seasonAt)
            // Every condition of the initializer was checked above, so it cannot fail.
            entries.append(
                ProgramEntryWire(
                    trigger: trigger, offsetMinutes: offset, level: level, fade: fade, days: days, fromMonth: fromMonth,
                    fromDay: fromDay, toMonth: toMonth, toDay: toDay)!)
        }
        return ProgramPage(revision: revision, page: page, entries: entries)!
    }
}
