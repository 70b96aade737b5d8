import Testing

@Suite("The executables explain themselves")
struct HelpTests {
    @Test(
        "--help prints the abstract and usage and exits 0",
        arguments: [
            ("lamplighterd", "The Lamplighter controller daemon"),
            ("lampctl", "Operate a Lamplighter street-lamp fleet"),
            ("lampsim", "Simulate a fleet of street lamps"),
        ])
    func help(product: String, abstract: String) throws {
        let output = try ProductRunner.run(product, ["--help"])
        #expect(output.status == 0)
        #expect(output.stdout.contains(abstract))
        #expect(output.stdout.contains("USAGE: \(product)"))
    }

    @Test("an unknown option is refused with a clear message and a non-zero status")
    func unknownOption() throws {
        let output = try ProductRunner.run("lampctl", ["--no-such-flag"])
        #expect(output.status != 0)
        #expect(output.stderr.contains("Unknown option '--no-such-flag'"))
    }
}
