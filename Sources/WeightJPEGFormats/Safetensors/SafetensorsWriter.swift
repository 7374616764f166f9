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
    private var regions: TensorRegions?

    /// Where each tensor's bytes lie in the writer's mapped file (`mapTensors()`): workers store
    /// into their own tensor's region concurrently, then the writer's `appendMapped(_:)` is called
    /// in order.
    public struct TensorRegions: @unchecked Sendable {
        let base: UnsafeMutableRawPointer
        let offsets: [Int]
        let sizes: [Int]

        /// The bytes of declared tensor `i` in the file.
        public func region(_ i: Int) -> UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(start: base + offsets[i], count: sizes[i])
        }

        /// Maps the pages of tensor `i`'s region in one call (`MADV_POPULATE_WRITE`, Linux 5.14+)
        /// instead of one page fault per 4 KiB while it is decoded; no effect where unsupported.
        /// The file's contents are unchanged.
        public func populate(_ i: Int) {
            #if os(Linux)
            guard sizes[i] >= 1 << 20 else { return }
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let start = Int(bitPattern: base + offsets[i]) / page * page
            let end = Int(bitPattern: base + offsets[i] + sizes[i])
            _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, 23)  // MADV_POPULATE_WRITE
            #endif
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
        guard regions == nil else { throw AtomicFile.WriteError(path: path, reason: "tensors are mapped: use appendMapped") }
        guard next < declared.count else { throw AtomicFile.WriteError(path: path, reason: "more tensors than declared") }
        let d = declared[next]
        guard d.name == tensor.name, d.dtype == tensor.dtype, d.shape == tensor.shape,
              tensor.data.count == d.shape.reduce(1, *) * d.dtype.byteSize else {
            throw AtomicFile.WriteError(path: path, reason: "tensor '\(tensor.name)' (\(tensor.dtype.rawValue) \(tensor.shape), \(tensor.data.count) bytes) does not match declared tensor \(next) '\(d.name)' (\(d.dtype.rawValue) \(d.shape))")
        }
        try file.write(tensor.data)
        next += 1
    }

    /// Switches to writing the tensors in place: extends the file to its final size (space
    /// reserved) and maps it, so a decoder can write each tensor straight into the file. Returns
    /// nil when the file system cannot do that (then use `append`). Call before any tensor is appended.
    public func mapTensors() throws(AtomicFile.WriteError) -> TensorRegions? {
        precondition(next == 0 && regions == nil, "mapTensors() after append")
        let sizes = declared.map { $0.shape.reduce(1, *) * $0.dtype.byteSize }
        var offsets: [Int] = []
        var end = file.bytesWritten
        for s in sizes {
            offsets.append(end)
            end += s
        }
        guard let mapping = try file.mapForWriting(size: end), let base = mapping.baseAddress else { return nil }
        regions = TensorRegions(base: base, offsets: offsets, sizes: sizes)
        return regions
    }

    /// Marks the next tensor, declared as `i` and already stored through its region, as written.
    /// Its pages leave this process's resident set (they stay in the file's page cache), so memory
    /// stays bounded by the tensors in flight.
    public func appendMapped(_ i: Int) throws(AtomicFile.WriteError) {
        guard let regions else { throw AtomicFile.WriteError(path: path, reason: "tensors are not mapped") }
        guard i == next, next < declared.count else {
            throw AtomicFile.WriteError(path: path, reason: "tensor \(i) written out of order (expected \(next))")
        }
        let r = regions.region(i)
        // Whole pages inside the region only: a neighbouring tensor may still be written.
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: r.baseAddress) + page - 1) / page * page
        let end = (Int(bitPattern: r.baseAddress) + r.count) / page * page
        if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, Int32(MADV_DONTNEED)) }
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
