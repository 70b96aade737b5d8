/// One lamp's energy in one UTC day, hour by hour, as both stores keep it: one row per lamp
/// and day whose `hours` column is this value packed by ``encoded()`` (migration v11).
///
/// An hour is either absent (nothing was ever written for it) or holds three whole numbers:
/// used and full-power energy in mWh, lit time in seconds. Absent and "present with zeros"
/// differ, as a missing and a zero row did in the hourly table before (the API counts a lamp
/// in a step when it has an hour there).
///
/// The packed form is a bit string, most significant bit first, zero-padded to whole bytes:
///
/// - 24 bits: which hours are present (bit 0 is hour 0 of the day);
/// - for each present hour in order, for used, full and lit in turn, the difference from the
///   same field of the previous present hour (0 before the first), zigzag-mapped to an
///   unsigned number `z`: a single `0` bit when `z` is 0, else a `1` bit, 6 bits holding
///   `n - 1` where `n` (1...64) is the bit length of `z`, then the `n - 1` bits of `z` below
///   its top bit (which is always 1, so it is not stored).
///
/// Night hours of a lamp change little from one hour to the next (the same lit time, the
/// same full-power energy, often the same level), so most fields take one bit; a day of a
/// dimmed 100 W lamp measures about 60 bytes (scripts/energy-storage.py, which has an
/// independent encoder in Python checked against ``EnergyDayTests``' golden bytes).
public struct EnergyDay: Sendable, Equatable {
    /// The values of one hour.
    public struct Hour: Sendable, Equatable {
        /// Energy used, mWh.
        public var used: Int64
        /// Energy at full power for the same lit time, mWh.
        public var full: Int64
        /// Seconds lit.
        public var lit: Int64

        /// An hour's values.
        public init(used: Int64, full: Int64, lit: Int64) {
            self.used = used
            self.full = full
            self.lit = lit
        }

        /// Adds `other` field by field, saturating rather than trapping at the limits.
        mutating func add(_ other: Hour) {
            used = EnergyDay.saturatingSum(used, other.used)
            full = EnergyDay.saturatingSum(full, other.full)
            lit = EnergyDay.saturatingSum(lit, other.lit)
        }
    }

    /// Why a packed day could not be read (a damaged database, or a file not written by us).
    public struct DecodingError: Error, Sendable, CustomStringConvertible {
        /// What was wrong, in words.
        public let description: String
    }

    /// Hours in a day.
    public static let hoursPerDay = 24
    /// The longest packed day: presence, then 24 hours of 3 fields of at most 1 + 6 + 63 bits.
    public static let maximumEncodedBytes = (24 + 24 * 3 * 70 + 7) / 8

    /// Hour of the day (0..<24) to its values; nil when absent. Inline, not on the heap:
    /// the store's `energy_day_add` reads, adds and packs a day per row it writes (issue 13).
    private var storage: InlineArray<24, Hour?>

    /// Hour of the day (0..<24) to its values; nil when absent.
    public var hours: [Hour?] { (0..<Self.hoursPerDay).map { storage[$0] } }

    /// The values of hour `hour` (0..<24); nil when absent.
    public subscript(hour hour: Int) -> Hour? { storage[hour] }

    /// A day with no hours present.
    public init() {
        storage = InlineArray(repeating: nil)
    }

    public static func == (a: EnergyDay, b: EnergyDay) -> Bool {
        (0..<hoursPerDay).allSatisfy { a.storage[$0] == b.storage[$0] }
    }

    /// Whether no hour is present.
    public var isEmpty: Bool { presentCount == 0 }

    /// How many hours are present.
    public var presentCount: Int { (0..<Self.hoursPerDay).reduce(0) { $0 + (storage[$1] == nil ? 0 : 1) } }

    /// Adds `values` to hour `hour` (0..<24), making it present.
    public mutating func add(_ values: Hour, at hour: Int) {
        precondition((0..<Self.hoursPerDay).contains(hour), "hour of the day out of range")
        if var existing = storage[hour] {
            existing.add(values)
            storage[hour] = existing
        } else {
            storage[hour] = values
        }
    }

    /// Adds every present hour of `other`.
    public mutating func add(_ other: EnergyDay) {
        for hour in 0..<Self.hoursPerDay {
            if let values = other.storage[hour] { add(values, at: hour) }
        }
    }

    /// Makes the hours before `hour` absent; returns how many were present.
    @discardableResult
    public mutating func removeHours(before hour: Int) -> Int {
        var removed = 0
        for index in 0..<min(max(hour, 0), Self.hoursPerDay) where storage[index] != nil {
            storage[index] = nil
            removed += 1
        }
        return removed
    }

    /// How many hours a packed day holds, from its presence bits alone (0 for a value too
    /// short to hold them).
    public static func presentCount(encoded bytes: [UInt8]) -> Int {
        guard bytes.count >= 3 else { return 0 }
        return bytes[0].nonzeroBitCount + bytes[1].nonzeroBitCount + bytes[2].nonzeroBitCount
    }

    // MARK: Packing

    /// The packed form.
    public func encoded() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Self.maximumEncodedBytes) { buffer, count in
            count = encode(into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// Packs the day into `buffer`, which holds at least ``maximumEncodedBytes``; returns the
    /// bytes written. Allocates nothing.
    public func encode(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        precondition(buffer.count >= Self.maximumEncodedBytes, "a buffer shorter than the longest packed day")
        var writer = BitWriter(buffer: buffer)
        for hour in 0..<Self.hoursPerDay {
            writer.write(storage[hour] == nil ? 0 : 1, bits: 1)
        }
        var previous = Hour(used: 0, full: 0, lit: 0)
        for hour in 0..<Self.hoursPerDay {
            guard let values = storage[hour] else { continue }
            writer.writeDifference(values.used, from: previous.used)
            writer.writeDifference(values.full, from: previous.full)
            writer.writeDifference(values.lit, from: previous.lit)
            previous = values
        }
        return writer.count
    }

    /// Reads a packed day; throws on anything ``encoded()`` could not have made (too short,
    /// too long, bits after the last field, a value length past 64 bits).
    public init(encoded bytes: [UInt8]) throws(DecodingError) {
        // withUnsafeBytes rethrows untyped: carry the typed error out in a Result.
        self = try bytes.withUnsafeBytes { raw in Result { () throws(DecodingError) in try EnergyDay(packed: raw) } }.get()
    }

    /// Reads a packed day in place (as ``init(encoded:)``); allocates nothing.
    public init(packed bytes: UnsafeRawBufferPointer) throws(DecodingError) {
        guard bytes.count <= Self.maximumEncodedBytes else {
            throw DecodingError(description: "a packed energy day of \(bytes.count) bytes, more than \(Self.maximumEncodedBytes)")
        }
        var reader = BitReader(bytes: bytes)
        let present = try reader.read(bits: Self.hoursPerDay)
        self.init()
        var previous = Hour(used: 0, full: 0, lit: 0)
        for hour in 0..<Self.hoursPerDay where present >> UInt64(Self.hoursPerDay - 1 - hour) & 1 == 1 {
            let values = Hour(
                used: try reader.readDifference(from: previous.used), full: try reader.readDifference(from: previous.full),
                lit: try reader.readDifference(from: previous.lit))
            storage[hour] = values
            previous = values
        }
        try reader.finish()
    }

    /// The packed days `added` and `stored` (nil for none) added hour by hour, packed into
    /// `buffer` (at least ``maximumEncodedBytes``); returns the bytes written. Allocates
    /// nothing: the SQLite store's `energy_day_add` runs it for every lamp-day it writes.
    public static func sum(
        packed added: UnsafeRawBufferPointer, and stored: UnsafeRawBufferPointer?, into buffer: UnsafeMutableRawBufferPointer
    ) throws(DecodingError) -> Int {
        var day = try EnergyDay(packed: added)
        if let stored { day.add(try EnergyDay(packed: stored)) }
        return day.encode(into: buffer)
    }

    public static func saturatingSum(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard overflow else { return sum }
        return b > 0 ? .max : .min
    }
}

/// Appends bits, most significant first, into a buffer the caller holds (long enough for
/// the longest packed day).
private struct BitWriter {
    let buffer: UnsafeMutableRawBufferPointer
    /// Whole or partial bytes written.
    var count = 0
    /// Bits used in the last byte (0 when it is full or there is none).
    var used = 0

    init(buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    mutating func write(_ value: UInt64, bits count: Int) {
        var remaining = count
        while remaining > 0 {
            if used == 0 {
                buffer[self.count] = 0
                self.count += 1
            }
            let room = 8 - used
            let take = min(room, remaining)
            let chunk = UInt8(truncatingIfNeeded: (value >> UInt64(remaining - take)) & ((1 << UInt64(take)) - 1))
            buffer[self.count - 1] |= chunk << UInt8(room - take)
            used = (used + take) % 8
            remaining -= take
        }
    }

    mutating func writeDifference(_ value: Int64, from previous: Int64) {
        let difference = value &- previous
        let zigzag = UInt64(bitPattern: (difference << 1) ^ (difference >> 63))
        guard zigzag != 0 else {
            write(0, bits: 1)
            return
        }
        let length = 64 - zigzag.leadingZeroBitCount
        write(1, bits: 1)
        write(UInt64(length - 1), bits: 6)
        write(zigzag, bits: length - 1)
    }
}

/// Reads what ``BitWriter`` wrote.
private struct BitReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    mutating func read(bits count: Int) throws(EnergyDay.DecodingError) -> UInt64 {
        guard position + count <= bytes.count * 8 else {
            throw EnergyDay.DecodingError(description: "a packed energy day ends inside a value (\(bytes.count) bytes)")
        }
        // A byte's worth at a time: what is left of the current byte, or what is asked.
        var value: UInt64 = 0
        var remaining = count
        while remaining > 0 {
            let offset = position % 8
            let take = min(8 - offset, remaining)
            let chunk = (bytes[position / 8] >> UInt8(8 - offset - take)) & UInt8(truncatingIfNeeded: (1 << take) - 1)
            value = value << UInt64(take) | UInt64(chunk)
            position += take
            remaining -= take
        }
        return value
    }

    mutating func readDifference(from previous: Int64) throws(EnergyDay.DecodingError) -> Int64 {
        guard try read(bits: 1) == 1 else { return previous }
        let length = Int(try read(bits: 6)) + 1
        let zigzag = (1 << UInt64(length - 1)) | (length > 1 ? try read(bits: length - 1) : 0)
        let difference = Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1)
        return previous &+ difference
    }

    /// Only zero padding may follow the last value, and less than a byte of it.
    func finish() throws(EnergyDay.DecodingError) {
        let padding = bytes.count * 8 - position
        guard padding < 8 else {
            throw EnergyDay.DecodingError(description: "a packed energy day has \(padding / 8) bytes after its last value")
        }
        if padding > 0, bytes[bytes.count - 1] & UInt8((1 << padding) - 1) != 0 {
            throw EnergyDay.DecodingError(description: "a packed energy day has bits set after its last value")
        }
    }
}
