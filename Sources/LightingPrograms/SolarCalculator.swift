/// When the sun crosses an altitude on one day: at an instant, or never, because it stays
/// above or below that altitude all day (polar day and night, handled explicitly, never NaN).
public enum SolarCrossing: Hashable, Sendable {
    /// At this instant, seconds since 1970-01-01 UTC.
    case at(Int64)
    /// The sun stays above the altitude all day (midnight sun, for sunrise and sunset).
    case alwaysAbove
    /// The sun stays below the altitude all day (polar night).
    case alwaysBelow

    /// The instant, if there is one.
    public var instant: Int64? {
        if case .at(let seconds) = self { return seconds }
        return nil
    }
}

/// Sunrise, sunset and civil twilight of one day at one place.
public struct SolarDay: Hashable, Sendable {
    /// Civil dawn: the sun's centre 6° below the horizon, morning.
    public var dawn: SolarCrossing
    /// Sunrise: the upper limb on the horizon (centre 0.833° below, for refraction and radius).
    public var sunrise: SolarCrossing
    /// Solar noon, seconds since 1970-01-01 UTC.
    public var noon: Int64
    /// Sunset.
    public var sunset: SolarCrossing
    /// Civil dusk.
    public var dusk: SolarCrossing
}

/// NOAA's solar calculator (the algorithm of its Solar Calculator and spreadsheets, after
/// Meeus, *Astronomical Algorithms*): sunrise, sunset and civil twilight for a date, latitude
/// and longitude. Tested against a reference table to well within one minute (Tests/
/// LightingProgramsTests/SolarReference.swift says where the table comes from).
public enum SolarCalculator {
    /// Zenith angle of sunrise and sunset: 90° plus 34′ refraction plus 16′ solar radius.
    public static let sunriseZenith = 90.833
    /// Zenith angle of civil twilight.
    public static let civilZenith = 96.0

    /// The solar day of `date` at a place (degrees, north and east positive). The date is the
    /// local solar day: its events are those around the solar noon of that date at that
    /// longitude, which is what a lamp's local calendar means.
    public static func day(_ date: CivilDate, latitude: Double, longitude: Double) -> SolarDay {
        let midnight = Double(date.daysSinceEpoch) * 86_400
        let noonMinutes = solarNoonMinutes(midnight: midnight, longitude: longitude)
        func crossing(_ zenith: Double, morning: Bool) -> SolarCrossing {
            // First estimate at solar noon, then once more at the estimate itself.
            var minutes = noonMinutes
            for _ in 0..<2 {
                let estimate = eventMinutes(
                    midnight: midnight, atMinutes: minutes, latitude: latitude, longitude: longitude, zenith: zenith, morning: morning)
                switch estimate {
                case .minutes(let value): minutes = value
                case .never(let crossing): return crossing
                }
            }
            return .at(Int64((midnight + minutes * 60).rounded()))
        }
        return SolarDay(
            dawn: crossing(civilZenith, morning: true), sunrise: crossing(sunriseZenith, morning: true),
            noon: Int64((midnight + noonMinutes * 60).rounded()), sunset: crossing(sunriseZenith, morning: false),
            dusk: crossing(civilZenith, morning: false))
    }

    /// A crossing's time, or the reason there is none.
    enum Estimate {
        case minutes(Double)
        case never(SolarCrossing)
    }

    /// Minutes after 00:00 UTC of the date when the sun crosses `zenith`, computed with the
    /// sun's position at `atMinutes`.
    static func eventMinutes(
        midnight: Double, atMinutes: Double, latitude: Double, longitude: Double, zenith: Double, morning: Bool
    ) -> Estimate {
        let t = julianCentury(unixSeconds: midnight + atMinutes * 60)
        let declination = sunDeclination(t)
        let latitudeRadians = SolarMath.radians(latitude)
        let cosine =
            SolarMath.cos(SolarMath.radians(zenith)) / (SolarMath.cos(latitudeRadians) * SolarMath.cos(declination))
            - SolarMath.tan(latitudeRadians) * SolarMath.tan(declination)
        if cosine > 1 { return .never(.alwaysBelow) }
        if cosine < -1 { return .never(.alwaysAbove) }
        let hourAngle = SolarMath.degrees(SolarMath.acos(cosine)) * (morning ? 1 : -1)
        return .minutes(720 - 4 * (longitude + hourAngle) - equationOfTime(t))
    }

    static func solarNoonMinutes(midnight: Double, longitude: Double) -> Double {
        // The equation of time at the approximate noon, then at the better one.
        var minutes = 720 - 4 * longitude
        for _ in 0..<2 {
            minutes = 720 - 4 * longitude - equationOfTime(julianCentury(unixSeconds: midnight + minutes * 60))
        }
        return minutes
    }

    static func julianCentury(unixSeconds: Double) -> Double {
        let julianDay = unixSeconds / 86_400 + 2_440_587.5
        return (julianDay - 2_451_545) / 36_525
    }

    static func normalized(_ degrees: Double) -> Double {
        let value = degrees.truncatingRemainder(dividingBy: 360)
        return value < 0 ? value + 360 : value
    }

    static func meanLongitude(_ t: Double) -> Double { normalized(280.46646 + t * (36000.76983 + t * 0.0003032)) }
    static func meanAnomaly(_ t: Double) -> Double { 357.52911 + t * (35999.05029 - 0.0001537 * t) }
    static func eccentricity(_ t: Double) -> Double { 0.016708634 - t * (0.000042037 + 0.0000001267 * t) }

    static func equationOfCentre(_ t: Double) -> Double {
        let m = SolarMath.radians(meanAnomaly(t))
        return SolarMath.sin(m) * (1.914602 - t * (0.004817 + 0.000014 * t)) + SolarMath.sin(2 * m) * (0.019993 - 0.000101 * t)
            + SolarMath.sin(3 * m) * 0.000289
    }

    static func apparentLongitude(_ t: Double) -> Double {
        let omega = 125.04 - 1934.136 * t
        return meanLongitude(t) + equationOfCentre(t) - 0.00569 - 0.00478 * SolarMath.sin(SolarMath.radians(omega))
    }

    static func obliquity(_ t: Double) -> Double {
        let mean = 23 + (26 + (21.448 - t * (46.8150 + t * (0.00059 - t * 0.001813))) / 60) / 60
        let omega = 125.04 - 1934.136 * t
        return mean + 0.00256 * SolarMath.cos(SolarMath.radians(omega))
    }

    /// The sun's declination, radians.
    static func sunDeclination(_ t: Double) -> Double {
        SolarMath.asin(SolarMath.sin(SolarMath.radians(obliquity(t))) * SolarMath.sin(SolarMath.radians(apparentLongitude(t))))
    }

    /// The equation of time, minutes.
    static func equationOfTime(_ t: Double) -> Double {
        let epsilon = SolarMath.radians(obliquity(t))
        let l0 = SolarMath.radians(meanLongitude(t))
        let e = eccentricity(t)
        let m = SolarMath.radians(meanAnomaly(t))
        var y = SolarMath.tan(epsilon / 2)
        y *= y
        let value =
            y * SolarMath.sin(2 * l0) - 2 * e * SolarMath.sin(m) + 4 * e * y * SolarMath.sin(m) * SolarMath.cos(2 * l0)
            - 0.5 * y * y * SolarMath.sin(4 * l0) - 1.25 * e * e * SolarMath.sin(2 * m)
        return SolarMath.degrees(value) * 4
    }
}
