import Foundation
import WeightJPEGCore

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
    private var slots: TensorSlots?

    /// Where each tensor's bytes lie in the writer's file (`placeTensors()`): workers write their
    /// own tensors concurrently, in any order, then the writer's `markWritten(_:)` is called in order.
    public struct TensorSlots: Sendable {
        let file: PositionalFileWriter
        let offsets: [Int]
        /// Each declared tensor's size in bytes.
        public let sizes: [Int]

        /// Writes `bytes` at byte `offset` of declared tensor `i`'s place in the file; they must lie
        /// within its `sizes[i]` bytes.
        public func write(_ i: Int, _ bytes: UnsafeRawBufferPointer, at offset: Int = 0) throws(AtomicFile.WriteError) {
            guard offset >= 0, bytes.count <= sizes[i] - offset else {
                throw AtomicFile.WriteError(path: file.path, reason: "tensor \(i): \(bytes.count) bytes at \(offset) overrun its \(sizes[i])")
            }
            try file.write(bytes, at: offsets[i] + offset)
        }
    }

    /// Starts the file at `path` with the header of `tensors` (names unique) and `metadata`.
    public init(path: String, tensors: [Declaration], metadata: [String: String]?) throws(AtomicFile.WriteError) {
        precondition(Set(tensors.map(\.name)).count == tensors.count, "duplicate tensor names")
        declared = tensors
        file = try AtomicFileWriter(path: path)
        try file.write(SafetensorsFile.header(tensors: tensors, metadata: metadata))
    }

    /// Appends the next tensor; it must match the next declaration (name, dtype, shape).
    public func append(_ tensor: SafetensorsTensor) throws(AtomicFile.WriteError) {
        guard slots == nil else { throw AtomicFile.WriteError(path: path, reason: "tensors are placed: use their slots and markWritten") }
        guard next < declared.count else { throw AtomicFile.WriteError(path: path, reason: "more tensors than declared") }
        let d = declared[next]
        guard d.name == tensor.name, d.dtype == tensor.dtype, d.shape == tensor.shape,
              tensor.data.count == d.shape.reduce(1, *) * d.dtype.byteSize else {
            throw AtomicFile.WriteError(path: path, reason: "tensor '\(tensor.name)' (\(tensor.dtype.rawValue) \(tensor.shape), \(tensor.data.count) bytes) does not match declared tensor \(next) '\(d.name)' (\(d.dtype.rawValue) \(d.shape))")
        }
        try file.write(tensor.data)
        next += 1
    }

    /// Switches to writing the tensors in place, in any order and from any thread: extends the
    /// file to its final size (space reserved where the file system can) and returns each tensor's
    /// slot. Returns nil for a stream (then use `append`). Call before any tensor is appended.
    public func placeTensors() throws(AtomicFile.WriteError) -> TensorSlots? {
        precondition(next == 0 && slots == nil, "placeTensors() after append")
        let sizes = declared.map { $0.shape.reduce(1, *) * $0.dtype.byteSize }
        var offsets: [Int] = []
        var end = file.bytesWritten
        for s in sizes {
            offsets.append(end)
            end += s
        }
        guard let positional = try file.positionalWriter(size: end) else { return nil }
        slots = TensorSlots(file: positional, offsets: offsets, sizes: sizes)
        return slots
    }

    /// Marks the next tensor, declared as `i` and already written through its slot, as written.
    public func markWritten(_ i: Int) throws(AtomicFile.WriteError) {
        guard slots != nil else { throw AtomicFile.WriteError(path: path, reason: "tensors are not placed") }
        guard i == next, next < declared.count else {
            throw AtomicFile.WriteError(path: path, reason: "tensor \(i) written out of order (expected \(next))")
        }
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
