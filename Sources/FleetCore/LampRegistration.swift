import LampProtocol

extension LampRecord {
    /// The one rule for registering a lamp, used by the operator API and by
    /// `lamplighterd lamps`: an id of 1 to 32 characters of `A-Z a-z 0-9 . _ -`, group names
    /// of 1 to 64 such characters, latitude and longitude given together and within range, a
    /// wattage from 0 to 6553 W (what a status report can carry), a name of at most 200
    /// characters, a cabinet named like a group. `field` prefixes each error's field name (e.g. `[3].` in a batch).
    public static func validated(
        id: String, name: String?, latitude: Double?, longitude: Double?, wattage: Double?, groups: [String],
        cabinet: String? = nil, fieldPrefix prefix: String = ""
    ) throws(FleetError) -> LampRecord {
        guard let lampID = LampID(id) else {
            throw .invalid("must be 1 to 32 characters of A-Z a-z 0-9 . _ - (got '\(id)')", field: prefix + "id")
        }
        for group in groups where !GroupName.isValid(group) {
            throw .invalid("must be 1 to 64 characters of A-Z a-z 0-9 . _ - (got '\(group)')", field: prefix + "groups")
        }
        if let latitude, !(latitude.isFinite && (-90...90).contains(latitude)) {
            throw .invalid("must be from -90 to 90", field: prefix + "latitude")
        }
        if let longitude, !(longitude.isFinite && (-180...180).contains(longitude)) {
            throw .invalid("must be from -180 to 180", field: prefix + "longitude")
        }
        if (latitude == nil) != (longitude == nil) {
            throw .invalid("must be given with \(latitude == nil ? "longitude" : "latitude")", field: prefix + (latitude == nil ? "latitude" : "longitude"))
        }
        if let wattage, !(wattage.isFinite && (0...6553).contains(wattage)) {
            throw .invalid("must be from 0 to 6553 watts", field: prefix + "wattage")
        }
        if let cabinet, !GroupName.isValid(cabinet) {
            throw .invalid("must be 1 to 64 characters of A-Z a-z 0-9 . _ - (got '\(cabinet)')", field: prefix + "cabinet")
        }
        if let name, name.count > 200 {
            throw .invalid("must be at most 200 characters", field: prefix + "name")
        }
        return LampRecord(id: lampID, name: name, latitude: latitude, longitude: longitude, wattage: wattage, groups: groups, cabinet: cabinet)
    }
}
