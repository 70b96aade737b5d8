/// The version of Lamplighter's three programs and its API (`--version`, the
/// `lamplighter_build_info` metric, `GET /healthz`). CHANGELOG.md says what changed.
public enum LamplighterVersion {
    /// The release, semantic versioning.
    public static let current = "0.1.0"
}
