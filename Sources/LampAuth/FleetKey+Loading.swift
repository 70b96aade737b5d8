#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the fleet master key came from, for the start-up message.
public struct LoadedFleetKey: Sendable {
    /// The key.
    public let key: FleetKey
    /// Older master keys after the current one in the key file, still used by lamps not yet
    /// rotated (SPEC.md §4.1); empty for a key given in hex.
    public var older: [FleetKey] = []
    /// `--fleet-key / LAMPLIGHTER_FLEET_KEY`, or the key file's path.
    public let source: String
    /// Whether it was generated (and written to the key file) just now.
    public let generated: Bool
}

/// Why the fleet key could not be had.
public struct FleetKeyError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in words a user can act on.
    public let description: String
}

extension FleetKey {
    /// The one way every program finds the fleet master key: `hex` (a flag or environment
    /// variable) if given, else the key file at `path`; with `createIfMissing`, a missing key
    /// file is created with a new key, readable by its owner only from its first byte (the
    /// file is opened with mode 0600 and `O_EXCL`, never widened later).
    public static func load(hex: String?, flagName: String, file path: String, createIfMissing: Bool) throws(FleetKeyError) -> LoadedFleetKey {
        if let hex {
            guard let key = FleetKey(hex: trimmed(hex)) else {
                throw FleetKeyError(description: "\(flagName) must be 32 to 128 hex digits (16 to 64 bytes)")
            }
            return LoadedFleetKey(key: key, source: flagName, generated: false)
        }
        if let text = try readFile(path) {
            // One key per line, the current one first (a master-key rotation adds lines).
            let lines = text.split(whereSeparator: \.isNewline).map { trimmed(String($0)) }.filter { !$0.isEmpty }
            let keys = lines.compactMap { FleetKey(hex: $0) }
            guard let key = keys.first, keys.count == lines.count, keys.count <= maximumKeysInFile else {
                throw FleetKeyError(
                    description: "the key file \(path) must hold 1 to \(maximumKeysInFile) keys of 32 to 128 hex digits (16 to 64 bytes), one per line")
            }
            var loaded = LoadedFleetKey(key: key, source: path, generated: false)
            loaded.older = Array(keys.dropFirst())
            return loaded
        }
        guard createIfMissing else {
            throw FleetKeyError(description: "no fleet key: \(path) does not exist (start lamplighterd once, or pass \(flagName))")
        }
        let key = FleetKey.generate()
        try writeNewFile(path, key.hex + "\n")
        return LoadedFleetKey(key: key, source: path, generated: true)
    }

    /// The most master keys a key file holds: the current one and older ones still in use.
    public static let maximumKeysInFile = 8

    private static func trimmed(_ text: String) -> String {
        String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    /// The file's text, or nil if it does not exist.
    private static func readFile(_ path: String) throws(FleetKeyError) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw FleetKeyError(description: "cannot read the key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while bytes.count <= 4096 {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count >= 0 else { throw FleetKeyError(description: "cannot read the key file \(path): \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func writeNewFile(_ path: String, _ text: String) throws(FleetKeyError) {
        do {
            try SecretFile.create(path, text)
        } catch {
            throw FleetKeyError(description: "cannot create the key file \(path): \(error.reason)")
        }
    }
}

/// A file holding a secret (the fleet key, the first admin token): created with mode 0600
/// from its first byte (`open` with `O_EXCL` and the mode, never a temporary file widened or
/// narrowed later, so no other user can read it at any moment), never overwriting one.
public enum SecretFile {
    /// Why a secret file could not be written.
    public struct Failure: Error, Sendable {
        /// The system's reason, in words.
        public let reason: String
    }

    /// Replaces `path` with `text` atomically: a new file `path.new` (mode 0600 from its first
    /// byte, `O_EXCL`; a stale one from a crash is removed first), synced, then renamed over
    /// `path`, so a crash leaves the old file or the new one, never half of either.
    public static func replace(_ path: String, _ text: String) throws(Failure) {
        let temporary = path + ".new"
        unlink(temporary)
        try create(temporary, text)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw Failure(reason: reason)
        }
    }

    /// Creates `path` with `text`, mode 0600; fails if it exists.
    public static func create(_ path: String, _ text: String) throws(Failure) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Failure(reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(descriptor) == 0 else { throw Failure(reason: String(cString: strerror(errno))) }
    }
}
