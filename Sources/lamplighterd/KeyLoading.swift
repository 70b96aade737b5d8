import ArgumentParser
import LampAuth

/// The daemon's options applied to the one fleet-key loader (`FleetKey.load`, lampsim's too).
enum KeyLoading {
    static func load(_ options: StorageOptions, createIfMissing: Bool) throws -> LoadedFleetKey {
        do {
            return try FleetKey.load(
                hex: options.fleetKey, flagName: "--fleet-key / LAMPLIGHTER_FLEET_KEY", file: options.keyFile,
                createIfMissing: createIfMissing)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
