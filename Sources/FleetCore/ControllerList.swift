import LampProtocol

/// One controller URL a lamp may link to: `ws://HOST[:PORT][/PATH]` or `wss://...`.
///
/// Parsed here without Foundation (FleetCore has none), strictly: no user, query or fragment,
/// a port from 1 to 65535, a host that is a name, an IPv4 address or a bracketed IPv6 one.
public struct ControllerURL: Sendable, Hashable {
    /// The URL as given (trimmed).
    public let text: String
    /// wss:// (or a ws:// URL with TLS forced by the caller).
    public let secure: Bool
    /// The host without brackets: a name, or an IP address.
    public let host: String
    public let port: Int
    /// The path of the lamp endpoint, `/lamp/v1` when the URL has none.
    public let path: String

    /// The host as an HTTP Host header and a URL write it (an IPv6 address in brackets).
    public var hostForHeader: String { host.contains(":") ? "[\(host)]" : host }

    /// Whether the host is an IP address (no resolution, no name for TLS to check).
    public var hostIsAddress: Bool { ControllerList.isIPAddress(host) }
}

/// A bad controller list: the message names the URL and what is wrong with it.
public struct ControllerListError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// One controller a lamp can link to: a URL and one address its host resolves to. A host name
/// that resolves to several addresses gives several controllers.
public struct ControllerEndpoint: Sendable, Hashable {
    public let url: ControllerURL
    /// The numeric address connected to (the host itself when it is an address).
    public let address: String

    public init(url: ControllerURL, address: String) {
        self.url = url
        self.address = address
    }

    /// How stats name it: the URL, and the address too when the URL names a host.
    public var label: String { url.hostIsAddress ? url.text : "\(url.text) at \(address)" }
}

/// The several controllers a simulated lamp may link to, and which one it tries next: the
/// pure part of lampsim's failover (parsing, expanding resolved addresses, rotating), so it is
/// tested without sockets or DNS.
///
/// Rotation: lamp `i` starts at controller `i % count`, so a fleet spreads evenly over a
/// cluster. After a failure (a failed connect, a handshake past its deadline, a dropped or
/// refused link) it tries the next controller in the list, wrapping around; after its own
/// reboot it comes back to the same one. A controller it was on that is gone from a new
/// resolution sends it back to its own start index. The waits between tries are the lamp's
/// ``Backoff`` (SPEC.md §13), which the caller applies.
public enum ControllerList {
    /// At most this many URLs in one list (`--url` repeated and comma-separated together).
    public static let maximumURLs = 64
    /// At most this many controllers after resolution; further addresses are left out.
    public static let maximumEndpoints = 64
    /// The longest host name DNS allows (RFC 1035).
    public static let maximumHostLength = 253

    /// Parses every value (each may be a comma-separated list) into URLs, in order. The error
    /// names the URL and its position; an empty item, a URL listed twice, or more than
    /// ``maximumURLs`` are errors too.
    public static func parse(_ values: [String], forceTLS: Bool = false) throws(ControllerListError) -> [ControllerURL] {
        var items: [String] = []
        for value in values {
            for item in value.split(separator: ",", omittingEmptySubsequences: false) {
                items.append(trimmed(item))
            }
        }
        guard !items.isEmpty else { throw ControllerListError("no controller URL given") }
        guard items.count <= maximumURLs else {
            throw ControllerListError("\(items.count) controller URLs given; at most \(maximumURLs)")
        }
        var urls: [ControllerURL] = []
        for (position, item) in items.enumerated() {
            let url = try parseOne(item, position: position + 1, of: items.count, forceTLS: forceTLS)
            if urls.contains(where: { $0.host.lowercased() == url.host.lowercased() && $0.port == url.port && $0.path == url.path }) {
                throw ControllerListError("URL \(position + 1) of \(items.count) '\(item)' is listed twice")
            }
            urls.append(url)
        }
        return urls
    }

    /// One URL; `position` and `count` only name it in an error.
    public static func parseOne(_ text: String, position: Int = 1, of count: Int = 1, forceTLS: Bool = false) throws(ControllerListError)
        -> ControllerURL
    {
        let name = count == 1 ? "'\(text)'" : "URL \(position) of \(count) '\(text)'"
        func bad(_ why: String) -> ControllerListError {
            ControllerListError("\(name): \(why) (it must look like ws://HOST:PORT/lamp/v1 or wss://HOST:PORT/lamp/v1)")
        }
        guard !text.isEmpty else { throw bad("empty (two commas in a row, or a comma at an end?)") }
        let secure: Bool
        let rest: Substring
        if text.hasPrefix("ws://") {
            secure = forceTLS
            rest = text.dropFirst(5)
        } else if text.hasPrefix("wss://") {
            secure = true
            rest = text.dropFirst(6)
        } else {
            throw bad("the scheme is not ws:// or wss://")
        }
        guard !rest.contains(where: { $0 == "?" || $0 == "#" }) else { throw bad("a query or fragment is not allowed") }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let path = rest[slash...].isEmpty ? LampProtocolVersion.path : String(rest[slash...])
        let authority = rest[..<slash]
        guard !authority.contains("@") else { throw bad("a user name is not allowed") }
        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw bad("an IPv6 address without its ']'") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw bad("something after the IPv6 address that is not :PORT") }
                portText = after.dropFirst()
            }
            guard isIPv6(host) else { throw bad("'\(host)' is not an IPv6 address") }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard !host.isEmpty else { throw bad("no host") }
            guard host.utf8.count <= maximumHostLength else { throw bad("the host is longer than \(maximumHostLength) characters") }
            guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") }) else {
                throw bad("'\(host)' is not a host name or address")
            }
        }
        var port = secure ? 443 : 80
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(portText),
                (1...65535).contains(number)
            else {
                throw bad("the port must be a number from 1 to 65535")
            }
            port = number
        }
        return ControllerURL(text: text, secure: secure, host: String(host), port: port, path: path)
    }

    /// The controllers of `urls` given the addresses each host resolved to (`addresses[i]`
    /// for `urls[i]`, in the resolver's order; an address host resolves to itself). A URL
    /// whose host did not resolve adds none. An address a host resolves to twice keeps its
    /// first place; two URLs that reach one address by different names stay two controllers
    /// (with wss:// each checks its own name). At most ``maximumEndpoints``.
    public static func endpoints(_ urls: [ControllerURL], addresses: [[String]]) -> [ControllerEndpoint] {
        var endpoints: [ControllerEndpoint] = []
        for (url, resolved) in zip(urls, addresses) {
            for address in resolved {
                guard endpoints.count < maximumEndpoints else { return endpoints }
                let endpoint = ControllerEndpoint(url: url, address: address)
                if !endpoints.contains(endpoint) { endpoints.append(endpoint) }
            }
        }
        return endpoints
    }

    /// The position in `endpoints` a lamp tries next: its own start (`lampIndex % count`) when
    /// it has no previous controller or that one is gone from the list; when `move` (the last
    /// try failed or the link dropped), another one than its previous, chosen by `draw` (a
    /// random number the caller draws) evenly among all the others; the same one otherwise
    /// (after its own reboot). Nil when the list is empty (nothing resolved).
    ///
    /// Evenly among the others, not the next in the list: the lamps of a controller that died
    /// all move at once, and sending them all to its neighbour doubled that one's links (at
    /// 100,000 lamps over 6 controllers, about 30,000 on one process against its limit of
    /// 20,000 open files: it failed, and its lamps with it, and the next in the cascade).
    public static func next(previous: ControllerEndpoint?, move: Bool, in endpoints: [ControllerEndpoint], lampIndex: Int, draw: UInt64) -> Int? {
        guard !endpoints.isEmpty else { return nil }
        guard let previous, let at = endpoints.firstIndex(of: previous) else { return lampIndex % endpoints.count }
        guard move, endpoints.count > 1 else { return at }
        let offset = 1 + Int(draw % UInt64(endpoints.count - 1))
        return (at + offset) % endpoints.count
    }

    /// Whether `host` is an IPv4 address in dotted decimal or an IPv6 address (no brackets).
    public static func isIPAddress(_ host: String) -> Bool {
        isIPv4(Substring(host)) || isIPv6(Substring(host))
    }

    static func isIPv4(_ host: Substring) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                !part.isEmpty && part.count <= 3 && part.allSatisfy { $0.isASCII && $0.isNumber } && (Int(part) ?? 256) <= 255
            }
    }

    /// Loosely: hex digits, colons (at least two) and an optional embedded IPv4 part; the
    /// resolver makes the final call.
    static func isIPv6(_ host: Substring) -> Bool {
        host.count >= 2 && host.count <= 45 && host.filter { $0 == ":" }.count >= 2
            && host.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }

    private static func trimmed(_ text: Substring) -> String {
        var text = text
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
