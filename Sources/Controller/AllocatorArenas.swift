import CHeap
import Foundation

/// How many malloc arenas the daemon lets glibc make.
///
/// glibc gives each new thread an arena of its own, up to 8 per core (16 here). The links'
/// memory is allocated on NIO's event loops and freed on others (the store's writer, the
/// cooperative pool), so with many arenas each keeps its own freed chunks: the daemon's RSS
/// per link measured 5.3 to 7.5 KiB at 10,000 links, varying from run to run with where the
/// garbage landed. With one arena per event loop it measured 3.0 to 3.1 KiB, with the same CPU
/// per command (BENCHMARKS.md, "Memory per link").
public enum AllocatorArenas {
    /// The environment variable glibc reads itself; when set, the operator's value stands.
    public static let environmentVariable = "MALLOC_ARENA_MAX"

    /// One arena per core, at least two.
    public static var defaultCount: Int { max(2, ProcessInfo.processInfo.activeProcessorCount) }

    /// Caps the arenas at ``defaultCount`` unless `MALLOC_ARENA_MAX` is set; call it first
    /// thing, before the event loops start. Returns the cap set, or nil when the operator's
    /// value stands or the C library has no such setting.
    @discardableResult
    public static func limit(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        guard environment[environmentVariable] == nil else { return nil }
        let count = defaultCount
        return lamplighter_heap_limit_arenas(Int32(count)) == 1 ? count : nil
    }
}
