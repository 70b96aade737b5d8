import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What `run` checks of its files before it opens them (issue 12): a fleet key readable by
/// others is refused, as ssh refuses such a private key; database files readable by others
/// are warned about; a database, WAL or shared-memory file the daemon cannot write is refused
/// (SQLite maps the -shm file: a read-only one crashed the daemon with a bus error).
enum FileChecks {
    /// Cannot do I/O on a file it needs (EX_IOERR).
    static let ioError = ExitCode(74)

    /// The file's permission bits, or nil if it does not exist.
    static func mode(_ path: String) -> mode_t? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return status.st_mode & 0o777
    }

    /// Refuses a key file that group or others may read or write.
    static func checkKeyFile(_ path: String) throws {
        guard let mode = mode(path), mode & 0o077 != 0 else { return }
        throw DaemonExit.fail(
            "the fleet key file \(path) is accessible by others (mode \(String(mode, radix: 8))): anyone who reads it can "
                + "impersonate every lamp and the controller. Fix it with: chmod 600 \(path)", DaemonExit.badSetting)
    }

    /// Warnings about database files that group or others may read.
    static func databaseWarnings(_ database: String) -> [String] {
        [database, database + "-wal", database + "-shm"].compactMap { path in
            guard let mode = mode(path), mode & 0o077 != 0 else { return nil }
            return "\(path) is readable by others (mode \(String(mode, radix: 8))): it holds token hashes and the fleet's "
                + "history; chmod 600 \(path)"
        }
    }

    /// Refuses a database, WAL or shared-memory file that exists and is not writable by us.
    static func checkDatabaseWritable(_ database: String) throws {
        for path in [database, database + "-wal", database + "-shm"] where FileManager.default.fileExists(atPath: path) {
            guard access(path, R_OK | W_OK) == 0 else {
                throw DaemonExit.fail(
                    "cannot write \(path) (\(String(cString: strerror(errno)))): SQLite needs the database, its -wal and its -shm "
                        + "file readable and writable by the daemon's user", ioError)
            }
        }
    }
}
