import Foundation

/// Finds the Controller target's resource bundle (`Lamplighter_Controller.resources`, or
/// `.bundle` on Apple platforms), which SwiftPM puts beside the built executable and which is
/// installed beside `lamplighterd`: the OpenAPI document and the dashboard's files live there.
///
/// The bundle is looked up here rather than through the generated `Bundle.module`, which
/// stops the process with `fatalError` when the bundle is missing: a daemon installed without
/// its bundle keeps running and answers the resources' routes with a 500 that says where it
/// looked.
enum ControllerResources {
    /// The resource bundle's name: SwiftPM's `<package>_<target>`.
    static let bundleName = "Lamplighter_Controller"

    /// Why a resource could not be loaded.
    struct LoadFailure: Error, Equatable, CustomStringConvertible {
        /// In words, with the places searched.
        let description: String
    }

    /// Directories that may hold the resource bundle, most likely first: beside the executable
    /// as started and as resolved through symbolic links, the main bundle's resources (an app
    /// on Apple platforms), and beside the bundle or binary that holds this code (a test
    /// bundle on Apple platforms).
    static func bundleDirectories() -> [URL] {
        /// A class of this module, for `Bundle(for:)`.
        final class Token {}
        var directories = [Bundle.main.bundleURL]
        if let executable = Bundle.main.executableURL {
            directories.append(executable.resolvingSymlinksInPath().deletingLastPathComponent())
        }
        if let resources = Bundle.main.resourceURL {
            directories.append(resources)
        }
        directories.append(Bundle(for: Token.self).bundleURL.deletingLastPathComponent())
        var seen: Set<String> = []
        return directories.filter { seen.insert($0.standardizedFileURL.path).inserted }
    }

    /// The URL of resource `name` (a file, or a directory copied whole) in the first bundle
    /// in `directories` that has it; nil when none has.
    static func url(of name: String, searching directories: [URL]) -> URL? {
        for directory in directories {
            for suffix in ["resources", "bundle"] {
                let bundleURL = directory.appendingPathComponent("\(bundleName).\(suffix)")
                if let bundle = Bundle(url: bundleURL), let url = bundle.url(forResource: name, withExtension: nil) {
                    return url
                }
            }
        }
        return nil
    }

    /// Why resource `name` was not found, naming the places searched.
    static func missing(_ name: String, what: String, searched directories: [URL]) -> String {
        let places = directories.map(\.path).joined(separator: ", ")
        return "\(what) is missing: \(bundleName).resources/\(name) was not found in \(places); "
            + "install the resource bundle beside lamplighterd"
    }
}
