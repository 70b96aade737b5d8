import FleetCore
import NIOCore
import NIOSSL
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One controller a lamp connects to, and how.
struct SimTarget: Sendable {
    let endpoint: ControllerEndpoint
    /// The address connected to (the URL's host resolved).
    let address: SocketAddress
    let sourceAddresses: [SocketAddress]
    /// TLS (wss://): the context every lamp shares; nil for plain ws://.
    let tls: NIOSSLContext?

    var url: ControllerURL { endpoint.url }
    var label: String { endpoint.label }
    /// The name the certificate must carry (and SNI): the URL's host name, kept when it was
    /// resolved to an address; nil for an IP address, whose certificate must name that address.
    var serverHostname: String? { url.hostIsAddress ? nil : url.host }
}

/// The controllers every lamp of this process may link to: the URLs of --url, and the
/// addresses their hosts resolve to. Shared by every event loop.
///
/// Host names are resolved with getaddrinfo (which blocks, so never on an event loop): once at
/// start, then again every ``refreshInterval`` by ``LampSim``'s resolver task while the process
/// runs, so a lamp that moves sees a DNS change within that time. Addresses in the URLs are not
/// resolved.
final class ControllerDirectory: Sendable {
    let urls: [ControllerURL]
    let sourceAddresses: [SocketAddress]
    let tls: NIOSSLContext?
    /// A connect plus upgrade plus handshake (challenge, hello, welcome) that has not finished
    /// within this time is given up, and the lamp moves on to the next controller.
    let handshakeTimeout: TimeAmount
    /// How often the host names are resolved again.
    static let refreshInterval = Duration.seconds(1)
    private let current: Mutex<[SimTarget]>

    init(urls: [ControllerURL], sourceAddresses: [SocketAddress], tls: NIOSSLContext?, handshakeTimeout: TimeAmount) {
        self.urls = urls
        self.sourceAddresses = sourceAddresses
        self.tls = tls
        self.handshakeTimeout = handshakeTimeout
        self.current = Mutex([])
    }

    /// Whether any URL names a host (one to resolve again and again).
    var hasNames: Bool { urls.contains { !$0.hostIsAddress } }

    /// The controllers now, in list order.
    var targets: [SimTarget] { current.withLock { $0 } }

    /// Resolves every host name (blocking); returns the URLs that resolved to nothing.
    @discardableResult
    func refresh() -> [ControllerURL] {
        let resolved = urls.map { url in
            url.hostIsAddress ? [url.host] : Self.resolve(url.host, port: url.port).compactMap(\.ipAddress)
        }
        let endpoints = ControllerList.endpoints(urls, addresses: resolved)
        let targets = endpoints.compactMap { endpoint -> SimTarget? in
            guard let address = try? SocketAddress(ipAddress: endpoint.address, port: endpoint.url.port) else { return nil }
            return SimTarget(endpoint: endpoint, address: address, sourceAddresses: sourceAddresses, tls: endpoint.url.secure ? tls : nil)
        }
        current.withLock { $0 = targets }
        return zip(urls, resolved).filter { $0.1.isEmpty }.map(\.0)
    }

    /// Every TCP address `host` resolves to, in getaddrinfo's order (empty when it does not).
    static func resolve(_ host: String, port: Int) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let raw = info.pointee.ai_addr {
                switch info.pointee.ai_family {
                case AF_INET:
                    raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { addresses.append(SocketAddress($0.pointee, host: host)) }
                case AF_INET6:
                    raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { addresses.append(SocketAddress($0.pointee, host: host)) }
                default:
                    break
                }
            }
            cursor = info.pointee.ai_next
        }
        return addresses
    }
}
