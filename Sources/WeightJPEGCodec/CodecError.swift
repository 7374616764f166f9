/// A tensor could not be coded or decoded: names the tensor and the reason.
public struct CodecError: Error, CustomStringConvertible, Equatable {
    /// Name of the tensor being coded or decoded.
    public let tensor: String
    /// What went wrong, in words.
    public let reason: String

    /// An error about `tensor`.
    public init(tensor: String, reason: String) {
        self.tensor = tensor
        self.reason = reason
    }

    public var description: String { "tensor '\(tensor)': \(reason)" }
}
