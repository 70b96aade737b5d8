#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads environment variables, the second source of settings after flags.
enum Environment {
    static func get(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    static func integer(_ name: String) -> Int? {
        get(name).flatMap { Int($0) }
    }
}
