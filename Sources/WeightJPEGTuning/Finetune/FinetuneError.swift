/// Why fine-tuning cannot run on a file.
public struct FinetuneError: Error, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
