import Foundation
import WeightJPEGCore

/// A safetensors file opened for streaming: the file is memory-mapped, the header validated by the
/// same rules as `SafetensorsFile` before any tensor is touched, and tensors are handed out one at
/// a time as views of the mapping (no copy). `release(_:)` drops a tensor's pages once it has been
/// used, so a pass over the file keeps only the tensors in use resident. Thread-safe.
public final class SafetensorsReader: @unchecked Sendable {
    /// The file.
    public let path: String
    /// Where each tensor lies, in file order.
    public let layout: SafetensorsFile.Layout
    private let file: MappedFile

    /// Maps and validates `path`.
    public init(path: String) throws(SafetensorsError) {
        self.path = path
        do {
            file = try MappedFile(path: path)
        } catch {
            throw SafetensorsError(path: path, kind: .unreadable(error.reason))
        }
        layout = try SafetensorsFile.layout(of: file.bytes, path: path)
    }

    /// `__metadata__`, or `nil`.
    public var metadata: [String: String]? { layout.metadata }
    /// Number of tensors.
    public var count: Int { layout.tensors.count }
    /// Size of the file in bytes.
    public var fileSize: Int { file.size }

    /// Tensor `index` (file order), viewing the mapping.
    public func tensor(_ index: Int) -> SafetensorsTensor {
        let t = layout.tensors[index]
        return SafetensorsTensor(name: t.name, dtype: t.dtype, shape: t.shape, data: file.data(t.range))
    }

    /// Drops the resident pages of tensor `index` (it stays readable: pages are read again on use).
    public func release(_ index: Int) {
        file.release(layout.tensors[index].range)
    }

    /// The whole file as a `SafetensorsFile` whose tensors view the mapping (nothing is copied).
    public func asFile() -> SafetensorsFile {
        SafetensorsFile(tensors: (0..<count).map(tensor), metadata: metadata)
    }
}
