import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OperatorAPI

/// The operator API's OpenAPI 3.1 document, served at `/openapi.json`.
///
/// The document is the resource `Resources/openapi.json`, written by `scripts/make-openapi.py`
/// (edit the script, not the file). SwiftPM copies it into the resource bundle
/// `Lamplighter_Controller.resources` (`.bundle` on Apple platforms) beside the executable; it
/// is read once, at first use. A test compares its paths and methods with the router's
/// routes, another validates real responses against its schemas.
///
/// The bundle is found by ``ControllerResources`` rather than the generated `Bundle.module`,
/// which stops the process with `fatalError` when the bundle is missing: a daemon installed
/// without its bundle keeps running and answers `/openapi.json` with a 500 that says why.
enum OpenAPIDocument {
    /// The resource bundle's name: SwiftPM's `<package>_<target>`.
    static let bundleName = ControllerResources.bundleName

    /// Why the document could not be loaded.
    typealias LoadFailure = ControllerResources.LoadFailure

    /// The document's text, or why it could not be loaded; read once, at first use.
    static let loaded: Result<String, LoadFailure> = load(searching: bundleDirectories())

    /// The document's text; empty when it could not be loaded (``loaded`` then says why).
    static let json: String = (try? loaded.get()) ?? ""

    /// The answer to `GET /openapi.json`: 200 and the document, or 500 and an ``APIError``
    /// saying why there is none.
    static func response(_ loaded: Result<String, LoadFailure> = loaded) -> Response {
        var buffer = ByteBuffer()
        let status: HTTPResponse.Status
        switch loaded {
        case .success(let text):
            status = .ok
            buffer.writeString(text)
        case .failure(let failure):
            status = .internalServerError
            // An APIError of two strings always encodes; the literal is only a last resort.
            let body = (try? APICoding.encoder().encode(APIError(error: failure.description))) ?? Data(#"{"error":"the OpenAPI document is missing"}"#.utf8)
            buffer.writeBytes(body)
            buffer.writeString("\n")
        }
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: buffer))
    }

    /// Directories that may hold the resource bundle (``ControllerResources/bundleDirectories()``).
    static func bundleDirectories() -> [URL] {
        ControllerResources.bundleDirectories()
    }

    /// Reads `openapi.json` from the first of `directories` that holds the resource bundle,
    /// and checks it is a JSON object.
    static func load(searching directories: [URL]) -> Result<String, LoadFailure> {
        for directory in directories {
            for suffix in ["resources", "bundle"] {
                let bundleURL = directory.appendingPathComponent("\(bundleName).\(suffix)")
                guard let bundle = Bundle(url: bundleURL), let file = bundle.url(forResource: "openapi", withExtension: "json") else {
                    continue
                }
                do {
                    let data = try Data(contentsOf: file)
                    guard (try JSONSerialization.jsonObject(with: data)) is [String: Any] else {
                        return .failure(LoadFailure(description: "\(file.path) is not a JSON object"))
                    }
                    return .success(String(decoding: data, as: UTF8.self))
                } catch {
                    return .failure(LoadFailure(description: "the OpenAPI document \(file.path) could not be read: \(error)"))
                }
            }
        }
        let places = directories.map(\.path).joined(separator: ", ")
        return .failure(
            LoadFailure(
                description: "the OpenAPI document is missing: \(bundleName).resources/openapi.json was not found in \(places); "
                    + "install the resource bundle beside lamplighterd"))
    }
}
