import ArgumentParser
import Foundation
import LampAuth

/// Finds the fleet master key: from the flag or environment, else from the key file, else
/// generates one and writes it to the key file readable by its owner only.
enum KeyLoading {
    struct Loaded {
        let key: FleetKey
        let source: String
        let generated: Bool
    }

    static func load(_ options: StorageOptions, createIfMissing: Bool) throws -> Loaded {
        if let hex = options.fleetKey {
            guard let key = FleetKey(hex: hex.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw ValidationError("--fleet-key must be 32 to 128 hex digits (16 to 64 bytes)")
            }
            return Loaded(key: key, source: "--fleet-key / LAMPLIGHTER_FLEET_KEY", generated: false)
        }
        let path = options.keyFile
        if FileManager.default.fileExists(atPath: path) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationError("cannot read the key file \(path)")
            }
            guard let key = FleetKey(hex: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw ValidationError("the key file \(path) must hold 32 to 128 hex digits (16 to 64 bytes)")
            }
            return Loaded(key: key, source: path, generated: false)
        }
        guard createIfMissing else {
            throw ValidationError("no fleet key: \(path) does not exist (start lamplighterd once, or pass --fleet-key)")
        }
        let key = FleetKey.generate()
        guard FileManager.default.createFile(
            atPath: path, contents: Data((key.hex + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw ValidationError("cannot create the key file \(path)")
        }
        return Loaded(key: key, source: path, generated: true)
    }
}
