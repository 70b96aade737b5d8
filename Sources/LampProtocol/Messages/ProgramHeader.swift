/// Controller to lamp: the first frame of a lighting program (SPEC.md §8.10). 19 to 81 bytes.
///
/// `0x30 | revision u32 | entryCount u8 | pageCount u8 | skipShorterMinutes u16 |
///  latitude i32 | longitude i32 | timeZone (u8 length, 1...63 ASCII bytes)`
///
/// The pages follow, one request at a time. The lamp applies the program (and reports its
/// `revision` as `programRevision`) when it has every page; a header with no entries
/// removes the program.
public struct ProgramHeader: WireMessage {
    static let type = MessageType.programHeader
    /// The program revision this transfer establishes (the request's ref).
    public var revision: UInt32
    /// Entries in the program, 0...64.
    public let entryCount: UInt8
    /// Pages that follow: entryCount / 16 rounded up.
    public var pageCount: UInt8 { UInt8((Int(entryCount) + ProgramPage.maximumEntries - 1) / ProgramPage.maximumEntries) }
    /// A switch-on followed by a switch-off sooner than this is skipped, minutes, 0...720.
    public let skipShorterMinutes: UInt16
    /// The lamp's latitude, millionths of a degree, north positive.
    public let latitudeMicrodegrees: Int32
    /// The lamp's longitude, millionths of a degree, east positive.
    public let longitudeMicrodegrees: Int32
    /// Its local time as a POSIX TZ rule, e.g. `CET-1CEST,M3.5.0,M10.5.0/3`.
    public let timeZone: String

    /// The most entries a program may have.
    public static let maximumEntries = 64

    /// A header; nil when a field is out of range or the time-zone text is not 1...63
    /// printable ASCII bytes without spaces.
    public init?(
        revision: UInt32, entryCount: UInt8, skipShorterMinutes: UInt16, latitudeMicrodegrees: Int32,
        longitudeMicrodegrees: Int32, timeZone: String
    ) {
        guard Int(entryCount) <= Self.maximumEntries, skipShorterMinutes <= 720,
            (-90_000_000...90_000_000).contains(latitudeMicrodegrees), (-180_000_000...180_000_000).contains(longitudeMicrodegrees),
            (1...63).contains(timeZone.utf8.count), timeZone.utf8.allSatisfy(Self.isRuleByte)
        else { return nil }
        self.revision = revision
        self.entryCount = entryCount
        self.skipShorterMinutes = skipShorterMinutes
        self.latitudeMicrodegrees = latitudeMicrodegrees
        self.longitudeMicrodegrees = longitudeMicrodegrees
        self.timeZone = timeZone
    }

    static func isRuleByte(_ byte: UInt8) -> Bool { byte >= 0x21 && byte <= 0x7E }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(revision)
        sink.write(entryCount)
        sink.write(pageCount)
        sink.write(skipShorterMinutes)
        sink.write(UInt32(bitPattern: latitudeMicrodegrees))
        sink.write(UInt32(bitPattern: longitudeMicrodegrees))
        sink.writeShortString(timeZone)
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> ProgramHeader {
        let revision = try reader.readUInt32("revision")
        let countAt = reader.offset
        let entryCount = try reader.readUInt8("entryCount")
        try reader.check(Int(entryCount) <= maximumEntries, "entryCount", at: countAt)
        let pagesAt = reader.offset
        let pageCount = try reader.readUInt8("pageCount")
        let expectedPages = (Int(entryCount) + ProgramPage.maximumEntries - 1) / ProgramPage.maximumEntries
        try reader.check(Int(pageCount) == expectedPages, "pageCount", at: pagesAt)
        let skipAt = reader.offset
        let skip = try reader.readUInt16("skipShorterMinutes")
        try reader.check(skip <= 720, "skipShorterMinutes", at: skipAt)
        let latitudeAt = reader.offset
        let latitude = Int32(bitPattern: try reader.readUInt32("latitude"))
        try reader.check((-90_000_000...90_000_000).contains(latitude), "latitude", at: latitudeAt)
        let longitudeAt = reader.offset
        let longitude = Int32(bitPattern: try reader.readUInt32("longitude"))
        try reader.check((-180_000_000...180_000_000).contains(longitude), "longitude", at: longitudeAt)
        let zone = try reader.readShortString("timeZone", lengths: 1...63, allowed: isRuleByte)
        // Every condition of the initializer was checked above, so it cannot fail.
        return ProgramHeader(
            revision: revision, entryCount: entryCount, skipShorterMinutes: skip, latitudeMicrodegrees: latitude,
            longitudeMicrodegrees: longitude, timeZone: zone)!
    }
}
