import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OperatorAPI

/// The web dashboard's static files: the resource directory `Resources/dashboard` (HTML, one
/// style sheet, ES modules, an icon), served by `lamplighterd` itself at `/` and
/// `/dashboard/FILE` with no build step and nothing fetched from elsewhere, so it works in a
/// control room without internet.
///
/// The files are read once, at first use, from the resource bundle beside the executable
/// (``ControllerResources``); a daemon installed without its bundle answers these routes with
/// a 500 that says where it looked. The files need no token: the API calls they make carry it.
struct DashboardFiles: Sendable {
    /// One file, ready to send.
    struct File: Sendable {
        /// Its bytes.
        let bytes: ByteBuffer
        /// Its `Content-Type`.
        let contentType: String
        /// A strong validator of its content, quoted, for `ETag` and `If-None-Match`.
        let etag: String
    }

    /// The resource directory's name in the bundle.
    static let directoryName = "dashboard"

    /// The files by name (`index.html`, `app.js`, ...).
    let files: [String: File]

    /// The content types of the files served, by extension: anything else in the directory
    /// is not served.
    static let contentTypes: [String: String] = [
        "html": "text/html; charset=utf-8",
        "js": "text/javascript; charset=utf-8",
        "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml",
        "png": "image/png",
        "json": "application/json",
    ]

    /// The files, or why they could not be loaded; read once, at first use.
    static let loaded: Result<DashboardFiles, ControllerResources.LoadFailure> = load(searching: ControllerResources.bundleDirectories())

    /// Reads every servable file of the dashboard directory in the first of `directories`
    /// whose resource bundle has it.
    static func load(searching directories: [URL]) -> Result<DashboardFiles, ControllerResources.LoadFailure> {
        guard let directory = ControllerResources.url(of: directoryName, searching: directories) else {
            return .failure(.init(description: ControllerResources.missing(directoryName, what: "the dashboard", searched: directories)))
        }
        do {
            var files: [String: File] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
                guard let contentType = contentTypes[(name as NSString).pathExtension.lowercased()] else { continue }
                let data = try Data(contentsOf: directory.appendingPathComponent(name))
                var buffer = ByteBuffer()
                buffer.writeBytes(data)
                files[name] = File(bytes: buffer, contentType: contentType, etag: etag(of: data))
            }
            guard files["index.html"] != nil else {
                return .failure(.init(description: "the dashboard \(directory.path) has no index.html"))
            }
            return .success(DashboardFiles(files: files))
        } catch {
            return .failure(.init(description: "the dashboard \(directory.path) could not be read: \(error)"))
        }
    }

    /// A quoted strong entity tag: 64-bit FNV-1a of the bytes and their count.
    static func etag(of data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return "\"\(String(hash, radix: 16))-\(data.count)\""
    }

    /// Whether `name` is a plain file name: no directories, no dot files.
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && !name.contains("/") && !name.contains("\\")
    }

    /// The answer to `GET /` (`index.html`) or `GET /dashboard/NAME`: 200 with the file, 304
    /// when the client's copy is current (`If-None-Match`), 404 JSON for a file that is not
    /// there, 500 JSON when the files are missing from the installation.
    ///
    /// Every file is sent with `Cache-Control: no-cache` and an `ETag`: a browser keeps its
    /// copy and asks each time whether it is current, so an upgraded daemon's dashboard is
    /// used at once and an unchanged one costs a 304. `index.html` also carries a Content
    /// Security Policy that allows only this origin (and `mapTiles`' origin for images).
    static func response(
        _ name: String, request: Request, mapTiles: String?, loaded: Result<DashboardFiles, ControllerResources.LoadFailure> = loaded
    ) -> Response {
        let dashboard: DashboardFiles
        switch loaded {
        case .success(let files): dashboard = files
        case .failure(let failure): return OperatorHTTPServer.failure(APIFailure(status: 500, APIError(error: failure.description)))
        }
        guard isPlainName(name), let file = dashboard.files[name] else {
            return OperatorHTTPServer.failure(APIFailure(status: 404, APIError(error: "no dashboard file \(name)", field: "file")))
        }
        var headers: HTTPFields = [
            .cacheControl: "no-cache",
            .eTag: file.etag,
            .xContentTypeOptions: "nosniff",
        ]
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == file.etag }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = file.contentType
        if name.hasSuffix(".html") {
            headers[.contentSecurityPolicy] = contentSecurityPolicy(host: request.head.authority, mapTiles: mapTiles)
            if let referrerPolicy = HTTPField.Name("Referrer-Policy") { headers[referrerPolicy] = "no-referrer" }
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: file.bytes))
    }

    /// Scripts, styles, connections and images from this origin only (and the live stream's
    /// WebSocket on this host, and the tile server's images when there is one).
    static func contentSecurityPolicy(host: String?, mapTiles: String?) -> String {
        var connect = "'self'"
        if let host, !host.isEmpty, host.utf8.allSatisfy({ byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || ".:-[]".utf8.contains(byte)
        }) {
            connect += " ws://\(host) wss://\(host)"
        }
        var images = "'self' data: blob:"
        if let origin = mapTiles.flatMap(tileOrigin) {
            images += " " + origin
        }
        return "default-src 'self'; script-src 'self'; style-src 'self'; img-src \(images); connect-src \(connect); "
            + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    }

    /// `scheme://host[:port]` of a tile URL template, or nil when it has none.
    static func tileOrigin(_ template: String) -> String? {
        guard let schemeEnd = template.range(of: "://") else { return nil }
        let scheme = template[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = template[schemeEnd.upperBound...]
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !host.isEmpty, !host.contains("{") else { return nil }
        return "\(scheme)://\(host)"
    }
}
