/// Why fine-tuning cannot run on a file.
public struct FinetuneError: Error, CustomStringConvertible {
    /// The fault in words, naming the file and the tensor when one is at fault.
    public let reason: String
    /// An error whose message is `reason`.
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
