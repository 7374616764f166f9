/// A model file could not be used as a model: names the file and the reason.
public struct ModelFileError: Error, CustomStringConvertible {
    /// The model file's path as given.
    public let path: String
    /// The fault in words, e.g. a missing tensor or a shape that does not chain.
    public let reason: String

    /// An error about `path`.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
