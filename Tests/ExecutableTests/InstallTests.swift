import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `scripts/install.sh` staged in a temporary directory with the binaries this test run built:
/// the layout an operator gets, and an installed daemon that finds its resource bundle.
@Suite("Installation")
struct InstallTests {
    /// The package's root: this file is Tests/ExecutableTests/InstallTests.swift.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("install.sh --system stages binaries, resources, completions, config and the unit; the installed daemon serves /openapi.json")
    func staged() async throws {
        let stage = FileManager.default.temporaryDirectory.appendingPathComponent("install-\(UUID().uuidString)")
        let process = Process()
        process.executableURL = Self.root.appendingPathComponent("scripts/install.sh")
        process.arguments = ["--from", ProductRunner.productsDirectory.path, "--destdir", stage.path, "--prefix", "/usr/local", "--system"]
        let output = OutputCollector()
        process.standardOutput = output.pipe
        process.standardError = output.pipe
        try process.run()
        output.start()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output.waitForEnd())")
        defer { try? FileManager.default.removeItem(at: stage) }

        let files = FileManager.default
        for path in [
            "usr/local/bin/lamplighterd", "usr/local/bin/lampctl", "usr/local/bin/lampsim",
            "usr/local/lib/lamplighter/Lamplighter_Controller.resources/openapi.json",
            "usr/local/share/bash-completion/completions/lampctl", "usr/local/share/zsh/site-functions/_lampctl",
            "usr/local/share/fish/vendor_completions.d/lampctl.fish", "etc/lamplighter/lamplighterd.conf",
            "etc/systemd/system/lamplighterd.service", "var/lib/lamplighter",
        ] {
            #expect(files.fileExists(atPath: stage.appendingPathComponent(path).path), "\(path) is installed")
        }
        let unit = try String(contentsOf: stage.appendingPathComponent("etc/systemd/system/lamplighterd.service"), encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/local/bin/lamplighterd run --config /etc/lamplighter/lamplighterd.conf"))
        #expect(unit.contains("User=lamplighter") && unit.contains("ExecReload=/bin/kill -HUP $MAINPID"))

        // The example config is valid as shipped.
        let checked = try ProductRunner.run(
            "lamplighterd", ["config", "--config", stage.appendingPathComponent("etc/lamplighter/lamplighterd.conf").path])
        #expect(checked.status == 0, "\(checked.stderr)")

        // Through the bin/ link, the daemon finds Lamplighter_Controller.resources beside its real file.
        let daemon = try Daemon(lamps: 0)
        daemon.executable = stage.appendingPathComponent("usr/local/bin/lamplighterd")
        try await daemon.start()
        let url = try #require(URL(string: "http://127.0.0.1:\(daemon.apiPort)/openapi.json"))
        let (_, response) = try await URLSession.shared.data(from: url)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
    }
}
