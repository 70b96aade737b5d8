import Foundation
import OperatorAPI
import OperatorClient
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A test CA with a server certificate for 127.0.0.1 and localhost and a lamp's client
/// certificate, made with the `openssl` command as an operator would (README "TLS").
struct TestCertificates {
    let directory: URL
    var ca: String { directory.appendingPathComponent("ca.pem").path }
    var serverCertificate: String { directory.appendingPathComponent("server.pem").path }
    var serverKey: String { directory.appendingPathComponent("server.key").path }
    var lampCertificate: String { directory.appendingPathComponent("lamp.pem").path }
    var lampKey: String { directory.appendingPathComponent("lamp.key").path }

    /// Makes a new CA named `name` and its certificates in `directory`; the server's
    /// certificate names `subjectAltName`.
    init(in directory: URL, name: String, subjectAltName: String = "DNS:localhost,IP:127.0.0.1") throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try Self.openssl(["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=\(name)"], in: directory)
        try Data("subjectAltName=\(subjectAltName)\n".utf8).write(to: directory.appendingPathComponent("san.ext"))
        for (file, subject, extensions) in [("server", "/CN=localhost", ["-extfile", "san.ext"]), ("lamp", "/CN=lamp-0001", [])] {
            try Self.openssl(["req"] + ec + ["-keyout", "\(file).key", "-out", "\(file).csr", "-subj", subject], in: directory)
            try Self.openssl(
                ["x509", "-req", "-in", "\(file).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "\(file).pem", "-days", "30"]
                    + extensions, in: directory)
        }
    }

    static func openssl(_ arguments: [String], in directory: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HarnessError("openssl \(arguments.joined(separator: " ")) failed: \(text)") }
    }
}

extension Daemon {
    /// A daemon serving TLS on both ports from `certificates` (a copy of the server's files,
    /// so a test can replace them for SIGHUP).
    static func withTLS(lamps: Int, _ certificates: TestCertificates, clientCA: Bool = false) throws -> Daemon {
        let daemon = try Daemon(lamps: lamps)
        let certificate = daemon.directory.appendingPathComponent("tls.pem").path
        let key = daemon.directory.appendingPathComponent("tls.key").path
        try FileManager.default.copyItem(atPath: certificates.serverCertificate, toPath: certificate)
        try FileManager.default.copyItem(atPath: certificates.serverKey, toPath: key)
        daemon.runArguments = ["--tls-certificate", certificate, "--tls-key", key] + (clientCA ? ["--lamp-tls-client-ca", certificates.ca] : [])
        daemon.caFile = certificates.ca
        return daemon
    }

    /// Puts other files where the daemon's TLS settings point.
    func replaceTLSFiles(certificate: String, key: String) throws {
        for (source, name) in [(certificate, "tls.pem"), (key, "tls.key")] {
            let target = directory.appendingPathComponent(name).path
            try FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(atPath: source, toPath: target)
        }
    }
}

/// TLS on both ports (issue 12): lampsim fleets over wss://, lampctl and watch over https://
/// and wss:// with a CA file, no plain text on a TLS port, certificate reload on SIGHUP
/// without losing a link, client certificates for lamps.
@Suite("TLS", .serialized)
struct TLSTests {
    static func certificates(_ name: String) throws -> TestCertificates {
        try TestCertificates(
            in: FileManager.default.temporaryDirectory.appendingPathComponent("lamplighter-tls-\(UUID().uuidString)"), name: name)
    }

    @Test("a lampsim --tls fleet links over wss://, lampctl's command over https:// reaches every lamp, watch reads wss://; plain text is refused")
    func fleetOverTLS() async throws {
        let certificates = try Self.certificates("Test City CA")
        let daemon = try Daemon.withTLS(lamps: 50, certificates)
        try await daemon.start()
        #expect(daemon.printed.output.contains("lamps connect to wss://127.0.0.1:\(daemon.lampPort)/lamp/v1"))
        #expect(daemon.printed.output.contains("operator API on https://127.0.0.1:\(daemon.apiPort)/api/v1"))
        // --tls on a ws:// URL: TLS all the same.
        let sim = try Simulator(daemon, count: 50, extra: ["--url", "ws://127.0.0.1:\(daemon.lampPort)/lamp/v1", "--tls"])
        try await waitUntil("50 lamps are online over TLS") { try await daemon.onlineCount() == 50 }

        let dim = try ProductRunner.run("lampctl", ["dim", "all", "30"] + daemon.lampctlOptions)
        #expect(dim.status == 0, "\(dim.stderr)")
        #expect(dim.stdout.contains("applied 50 / 50"), "\(dim.stdout)")
        try await waitUntil("every lamp applied the command") { try await daemon.progress(1).applied == 50 }

        // Without the CA file lampctl does not trust the certificate, and says so.
        let untrusted = try ProductRunner.run("lampctl", ["lamps", "--server", daemon.server, "--token", daemon.adminToken])
        #expect(untrusted.status == 3)
        #expect(untrusted.stderr.contains("not signed by a CA this system trusts") && untrusted.stderr.contains("--ca-file"), "\(untrusted.stderr)")
        // The CA file from the environment.
        let fromEnvironment = try ProductRunner.run(
            "lampctl", ["lamps", "--server", daemon.server, "--token", daemon.adminToken, "--json"], environment: ["LAMPCTL_CA_FILE": certificates.ca])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")
        // Plain http:// to the TLS port: no answer in plain text.
        let plain = try ProductRunner.run("lampctl", ["lamps", "--server", "http://127.0.0.1:\(daemon.apiPort)", "--token", daemon.adminToken])
        #expect(plain.status == 3, "\(plain.stdout)")

        // watch over wss:// (the certificate names localhost).
        let watch = try ProductRunner.runWithTimeout(
            "lampctl",
            ["watch", "--json", "--count", "1", "--server", "https://localhost:\(daemon.apiPort)", "--token", daemon.adminToken, "--ca-file", certificates.ca],
            seconds: 30)
        #expect(watch.status == 0, "\(watch.stderr)")
        #expect(watch.stdout.contains("\"subscribed\""), "\(watch.stdout)")
        let watchUntrusted = try ProductRunner.runWithTimeout(
            "lampctl", ["watch", "--count", "1", "--server", "https://localhost:\(daemon.apiPort)", "--token", daemon.adminToken], seconds: 30)
        #expect(watchUntrusted.status == 3 && watchUntrusted.stderr.contains("not signed by"), "\(watchUntrusted.stderr)")

        // Plain ws:// lamps to the TLS lamp port never link.
        let plainLamps = try ProductRunner.runWithTimeout(
            "lampsim",
            ["--url", "ws://127.0.0.1:\(daemon.lampPort)/lamp/v1", "--count", "3", "--start", "48", "--key-file", daemon.keyFile, "--duration", "3", "--quiet"],
            seconds: 30)
        #expect(plainLamps.stdout.contains("connected 0/3"), "\(plainLamps.stdout)")
        let stats = try await daemon.stats()
        #expect(stats.handshakesAccepted == 50 && stats.lampsOnline == 50)

        let report = try sim.finish()
        #expect(report.connected == 50 && report.reconnects == 0)
        #expect(report.lampDetails.allSatisfy { $0.appliedVersion == 1 })
    }

    @Test("SIGHUP with a new certificate keeps every link; new connections get the new one; a bad file keeps the old")
    func reloadKeepsLinks() async throws {
        let first = try Self.certificates("First CA")
        let second = try Self.certificates("Second CA")
        let daemon = try Daemon.withTLS(lamps: 40, first)
        try await daemon.start()
        let sim = try Simulator(daemon, count: 40, duration: 90)
        try await waitUntil("40 lamps are online") { try await daemon.onlineCount() == 40 }
        let before = try await daemon.stats()

        try daemon.replaceTLSFiles(certificate: second.serverCertificate, key: second.serverKey)
        daemon.signal(SIGHUP)
        try await waitUntil("the daemon reloaded the certificate", timeout: .seconds(10)) {
            daemon.printed.output.contains("SIGHUP: reloaded the TLS certificate")
        }
        // New connections see the new certificate: trusted with the second CA only.
        let oldCA = try ProductRunner.run("lampctl", ["lamps", "--server", daemon.server, "--token", daemon.adminToken, "--ca-file", first.ca])
        #expect(oldCA.status == 3 && oldCA.stderr.contains("not signed by the CA in \(first.ca)"), "\(oldCA.stderr)")
        daemon.caFile = second.ca
        let newCA = try ProductRunner.run("lampctl", ["lamps", "--json"] + daemon.lampctlOptions)
        #expect(newCA.status == 0, "\(newCA.stderr)")
        let newLamp = try ProductRunner.runWithTimeout(
            "lampsim",
            ["--url", daemon.lampURL, "--count", "1", "--start", "41", "--key-file", daemon.keyFile, "--duration", "2", "--quiet", "--ca-file", first.ca],
            seconds: 30)
        #expect(newLamp.stdout.contains("CERTIFICATE_VERIFY_FAILED"), "\(newLamp.stdout)")

        // A broken key on the next SIGHUP: the error is named, the second certificate stays.
        try Data("not a key\n".utf8).write(to: daemon.directory.appendingPathComponent("tls.key"))
        daemon.signal(SIGHUP)
        try await waitUntil("the daemon refused the broken key", timeout: .seconds(10)) {
            daemon.printed.output.contains("the settings were not reloaded")
        }
        #expect(daemon.printed.errors.contains("tls.key: not a PEM private key"), "\(daemon.printed.errors)")
        let stillSecond = try ProductRunner.run("lampctl", ["lamps", "--json"] + daemon.lampctlOptions)
        #expect(stillSecond.status == 0, "\(stillSecond.stderr)")
        let metrics = String(decoding: try await OperatorClientRaw.get(daemon, "/metrics"), as: UTF8.self)
        #expect(metrics.contains(#"lamplighter_tls_reloads_total{outcome="reloaded"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"lamplighter_tls_reloads_total{outcome="failed"} 1"#), "\(metrics)")

        // Every link survived both reloads: no new handshake, none replaced, none dropped.
        let after = try await daemon.stats()
        #expect(after.lampsOnline == 40)
        #expect(after.handshakesAccepted == before.handshakesAccepted && after.linksReplaced == before.linksReplaced)
        let report = try sim.finish()
        #expect(report.reconnects == 0 && report.handshakes == 40)
    }

    @Test("with lamp-tls-client-ca a lamp without a client certificate is refused; one signed by the CA links")
    func clientCertificates() async throws {
        let certificates = try Self.certificates("Lamp CA")
        let daemon = try Daemon.withTLS(lamps: 5, certificates, clientCA: true)
        try await daemon.start()
        #expect(daemon.printed.output.contains("client certificates signed by \(certificates.ca)"))
        let anonymous = try ProductRunner.runWithTimeout(
            "lampsim", ["--url", daemon.lampURL, "--count", "5", "--key-file", daemon.keyFile, "--duration", "3", "--quiet", "--ca-file", certificates.ca],
            seconds: 30)
        #expect(anonymous.stdout.contains("connected 0/5"), "\(anonymous.stdout)")
        #expect(try await daemon.stats().handshakesAccepted == 0)
        // A certificate from another CA is refused too.
        let stranger = try Self.certificates("Stranger CA")
        let foreign = try ProductRunner.runWithTimeout(
            "lampsim",
            [
                "--url", daemon.lampURL, "--count", "5", "--key-file", daemon.keyFile, "--duration", "3", "--quiet", "--ca-file", certificates.ca,
                "--client-certificate", stranger.lampCertificate, "--client-key", stranger.lampKey,
            ], seconds: 30)
        #expect(foreign.stdout.contains("connected 0/5"), "\(foreign.stdout)")
        let sim = try Simulator(daemon, count: 5, extra: ["--client-certificate", certificates.lampCertificate, "--client-key", certificates.lampKey])
        try await waitUntil("5 lamps with client certificates are online") { try await daemon.onlineCount() == 5 }
        // The API port asks no client certificate: tokens authenticate operators.
        let lamps = try ProductRunner.run("lampctl", ["lamps", "--json"] + daemon.lampctlOptions)
        #expect(lamps.status == 0, "\(lamps.stderr)")
        _ = try sim.finish()
    }

    @Test("bad TLS settings refuse to start, naming the setting and the file")
    func badFiles() throws {
        let certificates = try Self.certificates("Check CA")
        let other = try Self.certificates("Other CA")
        let directory = certificates.directory
        func config(_ arguments: [String]) throws -> ProductRunner.Output {
            try ProductRunner.run(
                "lamplighterd", ["config", "--db", directory.appendingPathComponent("x.db").path, "--key-file", directory.appendingPathComponent("k").path] + arguments)
        }
        let alone = try config(["--tls-certificate", certificates.serverCertificate])
        #expect(alone.status == 78 && alone.stderr.contains("--tls-certificate is set without tls-key"), "\(alone.stderr)")
        let missing = try config(["--tls-certificate", certificates.serverCertificate, "--tls-key", directory.appendingPathComponent("nope.key").path])
        #expect(missing.status == 78 && missing.stderr.contains("nope.key: no such file"), "\(missing.stderr)")
        let notPEM = try config(["--tls-certificate", certificates.serverKey, "--tls-key", certificates.serverKey])
        #expect(notPEM.status == 78 && notPEM.stderr.contains("server.key: not a PEM certificate"), "\(notPEM.stderr)")
        let mismatched = try config(["--tls-certificate", certificates.serverCertificate, "--tls-key", other.serverKey])
        #expect(mismatched.status == 78 && mismatched.stderr.contains("does not belong to the certificate"), "\(mismatched.stderr)")
        try TestCertificates.openssl(
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "expired.pem", "-days", "-1"],
            in: directory)
        let expired = try config(["--tls-certificate", directory.appendingPathComponent("expired.pem").path, "--tls-key", certificates.serverKey])
        #expect(expired.status == 78 && expired.stderr.contains("expired.pem: the certificate expired at"), "\(expired.stderr)")
        let notACA = try config([
            "--tls-certificate", certificates.serverCertificate, "--tls-key", certificates.serverKey, "--lamp-tls-client-ca", certificates.serverKey,
        ])
        #expect(notACA.status == 78 && notACA.stderr.contains("--lamp-tls-client-ca: ") && notACA.stderr.contains("not a PEM client CA certificate"), "\(notACA.stderr)")
        let caAlone = try config(["--lamp-tls-client-ca", certificates.ca])
        #expect(caAlone.status == 78 && caAlone.stderr.contains("needs TLS"), "\(caAlone.stderr)")
        // From the environment, shown with its source.
        let good = try ProductRunner.run(
            "lamplighterd", ["config", "--db", directory.appendingPathComponent("x.db").path],
            environment: ["LAMPLIGHTER_TLS_CERTIFICATE": certificates.serverCertificate, "LAMPLIGHTER_TLS_KEY": certificates.serverKey])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("tls-certificate") && good.stdout.contains("LAMPLIGHTER_TLS_CERTIFICATE"), "\(good.stdout)")
        // run refuses too, before it listens.
        let run = try ProductRunner.runWithTimeout(
            "lamplighterd",
            [
                "run", "--db", directory.appendingPathComponent("x.db").path, "--key-file", directory.appendingPathComponent("k").path,
                "--admin-token-file", directory.appendingPathComponent("t").path, "--lamp-port", "0", "--api-port", "0",
                "--tls-certificate", certificates.serverCertificate, "--tls-key", other.serverKey,
            ], seconds: 30)
        #expect(run.status == 78 && run.stderr.contains("does not belong to the certificate"), "\(run.stderr)")
    }

    @Test("a stranger who opens a TLS connection and never finishes the handshake is closed at the pre-upgrade deadline")
    func slowHandshakeIsClosed() async throws {
        let certificates = try Self.certificates("Slow CA")
        let daemon = try Daemon.withTLS(lamps: 0, certificates)
        try await daemon.start()
        let started = ContinuousClock.now
        // Nothing, and the first bytes of a ClientHello record.
        let strangers = try [StrangerSocket(port: daemon.lampPort, sending: ""), StrangerSocket(port: daemon.lampPort, sending: "\u{16}\u{03}\u{01}")]
        try await waitUntil("both strangers are closed", timeout: .seconds(20)) { strangers.allSatisfy { $0.isClosedByPeer() } }
        #expect(ContinuousClock.now - started >= .seconds(8))
        let metrics = String(decoding: try await OperatorClientRaw.get(daemon, "/metrics"), as: UTF8.self)
        #expect(metrics.contains(#"lamplighter_connections_closed_total{port="lamp",reason="deadline"} 2"#), "\(metrics)")
    }
}

/// A raw GET through lampctl's transport with the daemon's CA (for /metrics, outside /api/v1).
enum OperatorClientRaw {
    static func get(_ daemon: Daemon, _ path: String) async throws -> Data {
        let client = OperatorClient(server: try #require(URL(string: daemon.server)), token: daemon.adminToken, caFile: daemon.caFile)
        let (status, body) = try await client.raw("GET", path)
        guard status == 200 else { throw HarnessError("GET \(path): \(status)") }
        return body
    }
}
