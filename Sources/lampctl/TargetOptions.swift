import ArgumentParser

/// The target and fade every switching command takes.
struct TargetOptions: ParsableArguments {
    @Argument(help: "all, group:NAME, lamp:ID or a lamp ID.") var target: String
    @Option(help: "Fade time in seconds, 0 to 25.5.") var fade: Double = 0
    @OptionGroup var follow: FollowOptions

    func validate() throws {
        guard (0...25.5).contains(fade) else { throw ValidationError("--fade must be from 0 to 25.5 seconds") }
    }
}
