import ArgumentParser
import Foundation

/// `lamps generate --latitude --longitude [--spacing]`, in `lamplighterd` and `lampctl` alike:
/// where numbered lamps stand. Without a place they are registered without one.
public struct StreetGridOptions: ParsableArguments {
    @Option(
        parsing: .unconditional,
        help: "Place the lamps on a street grid centred here (with --longitude), e.g. 52.3676; without it they have no place.")
    public var latitude: Double?
    @Option(parsing: .unconditional, help: "The grid's centre, decimal degrees (west is negative).")
    public var longitude: Double?
    @Option(help: "Metres between lamps along a street on the grid; streets are three times as far apart.")
    public var spacing: Double = 30

    public init() {}

    public func validate() throws {
        if (latitude == nil) != (longitude == nil) { throw ValidationError("give --latitude and --longitude together") }
        if let latitude, !(-85...85).contains(latitude) { throw ValidationError("--latitude must be from -85 to 85") }
        if let longitude, !(-180...180).contains(longitude) { throw ValidationError("--longitude must be from -180 to 180") }
        guard spacing.isFinite, (1...1000).contains(spacing) else { throw ValidationError("--spacing must be from 1 to 1000 metres") }
    }

    /// The place of lamp `index` (0-based) of `count`, or nil without `--latitude`.
    public func place(_ index: Int, of count: Int) -> (latitude: Double, longitude: Double)? {
        guard let latitude, let longitude else { return nil }
        return StreetGrid.place(index, of: count, latitude: latitude, longitude: longitude, spacing: spacing)
    }
}

/// Lamps along east-west streets, `spacing` metres apart, the streets three spacings apart,
/// the grid about as tall as wide and centred on the place. Deterministic, so a test or a
/// demo gets the same map every time.
public enum StreetGrid {
    /// Metres per degree of latitude (and of longitude at the equator).
    static let metresPerDegree = 111_320.0

    /// The place of lamp `index` (0-based) of `count`, rounded to 1e-7 degrees (about 1 cm).
    public static func place(
        _ index: Int, of count: Int, latitude: Double, longitude: Double, spacing: Double
    ) -> (latitude: Double, longitude: Double) {
        let columns = max(1, Int((3 * Double(count)).squareRoot().rounded(.up)))
        let rows = (count + columns - 1) / columns
        let east = (Double(index % columns) - Double(columns - 1) / 2) * spacing
        let north = (Double(rows - 1) / 2 - Double(index / columns)) * spacing * 3
        let latitudeDegrees = latitude + north / metresPerDegree
        let longitudeDegrees = longitude + east / (metresPerDegree * cos(latitude * .pi / 180))
        return ((latitudeDegrees * 1e7).rounded() / 1e7, (min(180, max(-180, longitudeDegrees)) * 1e7).rounded() / 1e7)
    }
}
