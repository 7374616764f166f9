import Foundation

/// Writes a safetensors file tensor by tensor, without holding it in memory: the header is written
/// first from the declared names, dtypes and shapes (so sizes are known up front), then each
/// tensor's bytes in the declared order. The file appears at its path only on `finish()`
/// (temporary file, fsync, rename); dropping the writer unfinished leaves nothing behind.
/// Produces the same bytes as `SafetensorsFile.serialized()`.
public final class SafetensorsWriter {
    /// A tensor to be written: its name, dtype and shape.
    public typealias Declaration = (name: String, dtype: SafetensorsDType, shape: [Int])

    /// The target path.
    public var path: String { file.path }
    private let declared: [Declaration]
    private let file: AtomicFileWriter
    private var next = 0

    /// Starts the file at `path` with the header of `tensors` (names unique) and `metadata`.
    public init(path: String, tensors: [Declaration], metadata: [String: String]?) throws(AtomicFile.WriteError) {
        precondition(Set(tensors.map(\.name)).count == tensors.count, "duplicate tensor names")
        declared = tensors
        file = try AtomicFileWriter(path: path)
        try file.write(SafetensorsFile.header(tensors: tensors, metadata: metadata))
    }

    /// Appends the next tensor; it must match the next declaration (name, dtype, shape).
    public func append(_ tensor: SafetensorsTensor) throws(AtomicFile.WriteError) {
        guard next < declared.count else { throw AtomicFile.WriteError(path: path, reason: "more tensors than declared") }
        let d = declared[next]
        guard d.name == tensor.name, d.dtype == tensor.dtype, d.shape == tensor.shape,
              tensor.data.count == d.shape.reduce(1, *) * d.dtype.byteSize else {
            throw AtomicFile.WriteError(path: path, reason: "tensor '\(tensor.name)' (\(tensor.dtype.rawValue) \(tensor.shape), \(tensor.data.count) bytes) does not match declared tensor \(next) '\(d.name)' (\(d.dtype.rawValue) \(d.shape))")
        }
        try file.write(tensor.data)
        next += 1
    }

    /// Completes the file (every declared tensor must have been appended) and moves it into place.
    public func finish() throws(AtomicFile.WriteError) {
        guard next == declared.count else {
            throw AtomicFile.WriteError(path: path, reason: "\(declared.count - next) declared tensors were not written")
        }
        try file.commit()
    }

    /// Abandons the file: the temporary file is deleted.
    public func discard() { file.discard() }
}
