/// The version of WeightJPEG (the library, the `weightjpeg` command and its file writer), printed by
/// `weightjpeg --version`. Semantic versioning; the `.wjpg` format has its own version number
/// (`Container.version`).
public enum WeightJPEGVersion {
    /// `MAJOR.MINOR.PATCH`.
    public static let current = "0.3.0"
}
