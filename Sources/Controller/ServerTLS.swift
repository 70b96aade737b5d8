import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// The files a TLS port serves from: the certificate chain and its private key (PEM), and,
/// for the lamp port, the CA whose signature a lamp's client certificate must carry.
public struct ServerTLSFiles: Sendable, Equatable {
    /// The certificate chain, PEM, the server's own certificate first.
    public var certificate: String
    /// The certificate's private key, PEM.
    public var key: String
    /// Client certificates must be signed by this CA (PEM); nil: no client certificate asked.
    public var clientCA: String?

    /// Files for a port; `clientCA` makes client certificates mandatory.
    public init(certificate: String, key: String, clientCA: String? = nil) {
        self.certificate = certificate
        self.key = key
        self.clientCA = clientCA
    }

    /// Reads and checks the files and builds a server context from them. The error names the
    /// file and what is wrong with it (missing, unreadable, not PEM, key not the certificate's).
    public func makeContext() throws(ServerTLSError) -> NIOSSLContext {
        let chain = try Self.certificates(certificate, what: "certificate", file: .certificate)
        let expiry = chain[0].notValidAfter
        guard Double(expiry) > Date().timeIntervalSince1970 else {
            let date = Date(timeIntervalSince1970: Double(expiry)).formatted(.iso8601)
            throw ServerTLSError(file: .certificate, description: "\(certificate): the certificate expired at \(date)")
        }
        try Self.readable(key, what: "private key", file: .key)
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw ServerTLSError(file: .key, description: "\(key): not a PEM private key (or an encrypted one; the key must be unencrypted)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCA {
            let authorities = try Self.certificates(clientCA, what: "client CA certificate", file: .clientCA)
            configuration.trustRoots = .certificates(authorities)
            // A lamp has no host name to check; its certificate must chain to the CA.
            configuration.certificateVerification = .noHostnameVerification
        }
        do {
            // BoringSSL compares the key with the certificate's public key here.
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ServerTLSError(file: .key, description: "\(key): the private key does not belong to the certificate in \(certificate)")
        }
    }

    /// The certificates of a PEM file, at least one.
    static func certificates(_ path: String, what: String, file: ServerTLSError.File) throws(ServerTLSError) -> [NIOSSLCertificate] {
        try readable(path, what: what, file: file)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw ServerTLSError(file: file, description: "\(path): not a PEM \(what) (expected -----BEGIN CERTIFICATE-----)")
        }
        guard !certificates.isEmpty else {
            throw ServerTLSError(file: file, description: "\(path): holds no PEM \(what) (expected -----BEGIN CERTIFICATE-----)")
        }
        return certificates
    }

    /// Throws unless `path` is a readable file.
    static func readable(_ path: String, what: String, file: ServerTLSError.File) throws(ServerTLSError) {
        var directory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &directory) else {
            throw ServerTLSError(file: file, description: "\(path): no such file (the \(what))")
        }
        guard !directory.boolValue, FileManager.default.isReadableFile(atPath: path) else {
            throw ServerTLSError(file: file, description: "\(path): cannot read the \(what) (a directory, or no permission)")
        }
    }
}

/// A TLS file could not be used: the message names the file and what is wrong.
public struct ServerTLSError: Error, Sendable, CustomStringConvertible {
    /// Which of the files, so the caller can name the setting that gave it.
    public enum File: Sendable { case certificate, key, clientCA }
    /// The file at fault.
    public let file: File
    /// One line for the operator.
    public let description: String
}

/// The TLS context a port hands each new connection, replaceable while the port runs: SIGHUP
/// swaps in a context built from the reloaded files; connections already open keep the one
/// they started with (a TLS session does not change certificate), so no link drops.
public final class ReloadableTLSContext: Sendable {
    private let current: Mutex<NIOSSLContext>
    /// The files it was last built from.
    public let files: Mutex<ServerTLSFiles>

    /// A context built from `files`; throws naming the bad file.
    public init(files: ServerTLSFiles) throws(ServerTLSError) {
        self.current = Mutex(try files.makeContext())
        self.files = Mutex(files)
    }

    /// Builds a context from `files` and, only if that works, serves it to new connections.
    /// On an error the previous context stays.
    public func reload(from files: ServerTLSFiles) throws(ServerTLSError) {
        let context = try files.makeContext()
        current.withLock { $0 = context }
        self.files.withLock { $0 = files }
    }

    /// The handler a new connection's pipeline starts with.
    public func makeHandler() -> NIOSSLServerHandler {
        NIOSSLServerHandler(context: current.withLock { $0 })
    }
}
