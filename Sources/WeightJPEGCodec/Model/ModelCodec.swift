import Foundation
import WeightJPEGCore
import WeightJPEGFormats

/// Whole models in and out of the `.wjpg` container: every tensor of a safetensors file is coded by
/// the policy's rule and restored with its original name, order, shape and dtype.
public enum ModelCodec {
    /// Codes every tensor of `file`. Lossy-coded tensors must hold only finite values.
    public static func compress(_ file: SafetensorsFile, policy: CompressionPolicy) throws -> Container {
        let codec = try JPEGTensorCodec()
        let entries = try file.tensors.map { try encode($0, policy: policy, codec: codec) }
        return Container(metadata: file.metadata, entries: entries)
    }

    /// Codes one tensor by the policy's rule (the unit of work of every compression pipeline).
    /// A `JPEGTensorCodec` is not thread-safe: give each thread its own.
    public static func encode(_ tensor: SafetensorsTensor, policy: CompressionPolicy,
                              codec: JPEGTensorCodec) throws -> ContainerEntry {
        try encode(tensor, policy: policy, codec: codec) { _ in }
    }

    /// `encode(_:policy:codec:)`, handing `measured` the error the error-targeted search measured
    /// when it chose the coding (not called otherwise).
    static func encode(_ tensor: SafetensorsTensor, policy: CompressionPolicy, codec: JPEGTensorCodec,
                       measured: (WeightDistortion) -> Void) throws -> ContainerEntry {
        var values: [Float]? = nil
        if tensor.dtype.convertsToFloat {
            var buffer = codec.takeFloatScratch()
            try tensor.floats(into: &buffer)
            values = buffer
        }
        defer { if let values { codec.keepFloatScratch(values) } }
        if let rung = policy.tensorJPEGSettings[tensor.name], let values, !policy.isExact(tensor.name) {
            try rejectNonFinite(values, of: tensor.name)
            let coded: (coding: TensorCoding, payloads: [[UInt8]])?
            do throws(CodecError) {
                coded = try ErrorTargetedSearch.jpeg(values, shape: tensor.shape, dtype: tensor.dtype, rung: rung, policy: policy, codec: codec)
            } catch {
                throw CodecError(tensor: tensor.name, reason: error.reason)
            }
            if let coded {
                return ContainerEntry(name: tensor.name, dtype: tensor.dtype.rawValue, shape: tensor.shape,
                                      coding: coded.coding, payloads: coded.payloads)
            }
        }
        if let bound = policy.relativeErrorBound(name: tensor.name, rank: tensor.shape.count)
            ?? policy.noiseLikeBound(name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, values: values), let values,
           !policy.isExact(tensor.name), !policy.hasQualityOverride(tensor.name) {
            try rejectNonFinite(values, of: tensor.name)
            let choice: ErrorTargetedSearch.Choice
            do throws(CodecError) {
                choice = try ErrorTargetedSearch.cheapest(values, shape: tensor.shape, dtype: tensor.dtype,
                                                          exactBytes: { [UInt8](tensor.data) }, exactByteCount: tensor.data.count,
                                                          bound: bound, policy: policy, codec: codec)
            } catch {
                throw CodecError(tensor: tensor.name, reason: error.reason)
            }
            measured(choice.error)
            return ContainerEntry(name: tensor.name, dtype: tensor.dtype.rawValue, shape: tensor.shape,
                                  coding: choice.coding, payloads: choice.payloads)
        }
        let coding = policy.coding(name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, values: values)
        func entry(_ coding: TensorCoding, _ payloads: [[UInt8]]) -> ContainerEntry {
            ContainerEntry(name: tensor.name, dtype: tensor.dtype.rawValue, shape: tensor.shape, coding: coding, payloads: payloads)
        }
        switch coding {
        case .exact:
            return entry(.exact, [[UInt8](tensor.data)])
        case .entropyUniform, .fixedRows, .entropyTrellis:
            preconditionFailure("the classic policy never chooses \(coding.name)")
        case .float16, .int8PerRow, .jpeg:
            try rejectNonFinite(values!, of: tensor.name)
            do throws(CodecError) {
                // A huge near-constant tensor compresses beyond what a reader accepts from a
                // hostile file (DecodeLimits): store it int8 per row instead.
                if let coded = try coding.encode(values!, shape: tensor.shape, dtype: tensor.dtype, jpeg: codec) {
                    return entry(coded.coding, coded.payloads)
                }
                let coded = try TensorCoding.int8PerRow.encode(values!, shape: tensor.shape, dtype: tensor.dtype, jpeg: codec)!
                return entry(coded.coding, coded.payloads)
            } catch {
                throw CodecError(tensor: tensor.name, reason: error.reason)
            }
        }
    }

    /// Lossy codings take only finite weights: the first NaN or infinity, named.
    private static func rejectNonFinite(_ values: [Float], of tensor: String) throws(CodecError) {
        if let bad = FloatScan.firstNonFinite(values) {
            throw CodecError(tensor: tensor, reason: "holds \(values[bad]) at index \(bad); only finite weights can be compressed (keep it exact with --exact '\(tensor)')")
        }
    }

    /// Decodes one entry to floats (for lossy codings, or exact float tensors).
    public static func floats(of entry: ContainerEntry, codec: JPEGTensorCodec, path: String) throws -> [Float] {
        func fail(_ reason: String) -> ContainerError {
            ContainerError(path: path, tensor: entry.name, fault: .corruptPayload(reason))
        }
        if let damage = entry.damage { throw damage }
        guard let dtype = SafetensorsDType(rawValue: entry.dtype) else { throw fail("unknown dtype '\(entry.dtype)'") }
        guard entry.coding == .exact || dtype.convertsToFloat else {
            throw fail("coding \(entry.coding.name) needs a floating-point dtype, the tensor is \(dtype.rawValue)")
        }
        try checkLimits(entry, path: path)
        do throws(CodecError) {
            return try entry.coding.codec().decode(entry.payloads, shape: entry.shape, dtype: dtype, jpeg: codec)
        } catch {
            throw fail(error.reason)
        }
    }

    /// Decodes the payloads of a lossy coding (`float16`, `int8PerRow`, `jpeg`, `entropyUniform`,
    /// `fixedRows`) of a tensor of `shape` to floats. Rank-1 and scalar tensors count as one row.
    static func decodeValues(coding: TensorCoding, payloads: [[UInt8]], shape: [Int], codec: JPEGTensorCodec) throws(CodecError) -> [Float] {
        guard coding != .exact else { throw CodecError(tensor: "", reason: "exact tensors are not decoded here") }
        return try coding.codec().decode(payloads, shape: shape, dtype: .F32, jpeg: codec)
    }

    /// Refuses, before anything is allocated, an entry whose shape is implausible for its payload
    /// bytes (`DecodeLimits`; a parsed file's entries already passed this when its header was read).
    private static func checkLimits(_ entry: ContainerEntry, path: String) throws(ContainerError) {
        if let refusal = DecodeLimits.refusal(coding: entry.coding, shape: entry.shape, payloadBytes: entry.payloads.reduce(0) { $0 + $1.count }) {
            throw ContainerError(path: path, tensor: entry.name, fault: .corruptPayload(refusal))
        }
    }

    private static func exactTensor(_ entry: ContainerEntry, dtype: SafetensorsDType, path: String) throws -> SafetensorsTensor {
        let count = entry.shape.reduce(1, *)
        guard entry.payloads[0].count == count * dtype.byteSize else {
            throw ContainerError(path: path, tensor: entry.name, fault: .corruptPayload(
                "exact payload has \(entry.payloads[0].count) bytes, shape \(entry.shape) of \(dtype.rawValue) needs \(count * dtype.byteSize)"))
        }
        return SafetensorsTensor(name: entry.name, dtype: dtype, shape: entry.shape, data: Data(entry.payloads[0]))
    }

    /// Restores the safetensors file: original names, order, shapes, dtypes and metadata.
    public static func decompress(_ container: Container, path: String) throws -> SafetensorsFile {
        let codec = try JPEGTensorCodec()
        let tensors = try container.entries.map { try decode($0, codec: codec, path: path) }
        return SafetensorsFile(tensors: tensors, metadata: container.metadata)
    }

    /// Restores one tensor in its original dtype and shape, zero slices included (the unit of work
    /// of every decompression pipeline). Lossy tensors are decoded by `decode(_:codec:path:into:)`
    /// into one new buffer.
    public static func decode(_ entry: ContainerEntry, codec: JPEGTensorCodec, path: String) throws -> SafetensorsTensor {
        switch try checked(entry, path: path) {
        case .exact(let tensor):
            return tensor
        case .decoded(let dtype, let size):
            let buffer = LargeBuffer(byteCount: size)
            try decode(entry, codec: codec, path: path, into: buffer.bytes)
            return SafetensorsTensor(name: entry.name, dtype: dtype, shape: entry.restoredShape, data: buffer.data())
        }
    }

    /// What the whole-tensor decoders (`decode(_:codec:path:)` and the streamed
    /// `decode(_:codec:path:buffer:write:)`) establish before allocating anything: a known dtype; an
    /// exact single-payload tensor checked and taken as it is; otherwise no damage, a restored size
    /// without overflow and a shape plausible for the payload bytes (`DecodeLimits`).
    private enum Checked {
        case exact(SafetensorsTensor)
        case decoded(dtype: SafetensorsDType, size: Int)
    }

    private static func checked(_ entry: ContainerEntry, path: String) throws -> Checked {
        guard let dtype = SafetensorsDType(rawValue: entry.dtype) else {
            throw ContainerError(path: path, tensor: entry.name, fault: .corruptPayload("unknown dtype '\(entry.dtype)'"))
        }
        if entry.coding == .exact && entry.damage == nil && entry.payloads.count == 1 && entry.zeroSlices.isEmpty {
            return .exact(try exactTensor(entry, dtype: dtype, path: path))
        }
        if let damage = entry.damage { throw damage }
        let size = try outputSize(entry.restoredShape, of: entry, dtype: dtype, path: path)
        try checkLimits(entry, path: path)
        return .decoded(dtype: dtype, size: size)
    }

    /// The byte size of a tensor of `shape` in `dtype` (`entry` labels the error), checked for overflow.
    private static func outputSize(_ shape: [Int], of entry: ContainerEntry, dtype: SafetensorsDType, path: String) throws(ContainerError) -> Int {
        var count = 1
        for d in shape {
            let (c, overflow) = count.multipliedReportingOverflow(by: d)
            guard d >= 0, !overflow else { throw ContainerError(path: path, tensor: entry.name, fault: .corruptPayload("shape \(entry.shape) is too large")) }
            count = c
        }
        let (size, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else { throw ContainerError(path: path, tensor: entry.name, fault: .corruptPayload("shape \(entry.shape) is too large")) }
        return size
    }

    /// Restores one tensor's bytes in its original dtype into `bytes`, which must be exactly the
    /// restored tensor's size (`product(restoredShape) × dtype.byteSize`): the same bytes as
    /// `decode(_:codec:path:).data`. A float32 JPEG tensor is decoded straight into `bytes` (the
    /// pixel→float placement writes the output; no float array, no copy), and so is a float32
    /// entropy-trellis tensor (its chunks in parallel); other lossy tensors are decoded to floats
    /// and converted into `bytes`; exact ones are copied. A tensor with zero slices is decoded to a
    /// scratch buffer first and restored into `bytes`.
    public static func decode(_ entry: ContainerEntry, codec: JPEGTensorCodec, path: String,
                              into bytes: UnsafeMutableRawBufferPointer) throws {
        guard let dtype = SafetensorsDType(rawValue: entry.dtype) else {
            throw ContainerError(path: path, tensor: entry.name, fault: .corruptPayload("unknown dtype '\(entry.dtype)'"))
        }
        guard entry.zeroSlices.isEmpty else {
            let restored = try outputSize(entry.restoredShape, of: entry, dtype: dtype, path: path)
            precondition(bytes.count == restored, "tensor '\(entry.name)': output buffer of \(bytes.count) bytes, tensor has \(restored)")
            var stored = entry
            stored.zeroSlices = []
            let scratch = LargeBuffer(byteCount: try outputSize(entry.shape, of: entry, dtype: dtype, path: path))
            try decode(stored, codec: codec, path: path, into: scratch.bytes)
            ZeroSlices.restore(UnsafeRawBufferPointer(scratch.bytes), shape: entry.shape, elementSize: dtype.byteSize,
                               slices: entry.zeroSlices, into: bytes)
            return
        }
        let size = try outputSize(entry.shape, of: entry, dtype: dtype, path: path)
        precondition(bytes.count == size, "tensor '\(entry.name)': output buffer of \(bytes.count) bytes, tensor has \(size)")
        if entry.coding == .exact && entry.damage == nil && entry.payloads.count == 1 {
            let t = try exactTensor(entry, dtype: dtype, path: path)
            t.data.withUnsafeBytes { bytes.copyMemory(from: $0) }
            return
        }
        #if _endian(little)
        if dtype == .F32, entry.damage == nil, entry.shape.count >= 2, entry.shape[0] > 0,
           case .jpeg(let p) = entry.coding,
           let base = bytes.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
            let rows = entry.shape[0], count = size / 4
            do {
                try codec.decode(entry.payloads, rows: rows, columns: count / rows, parameters: p,
                                 into: UnsafeMutableBufferPointer(start: base.bindMemory(to: Float.self, capacity: count), count: count))
            } catch {
                throw ContainerError(path: path, tensor: entry.name, fault: .corruptPayload(error.reason))
            }
            return
        }
        if dtype == .F32, entry.damage == nil, case .entropyTrellis(let p) = entry.coding,
           let base = bytes.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
            try checkLimits(entry, path: path)
            let count = size / 4
            let (rows, columns) = EntropyTrellisCodec.matrix(entry.shape, count: count)
            do throws(CodecError) {
                guard rows >= 1, columns >= 1 else { throw CodecError(tensor: "", reason: "entropy-trellis tensor of shape \(entry.shape) has no elements") }
                try EntropyTrellis.decode(entry.payloads, parameters: p, rows: rows, columns: columns,
                                          into: UnsafeMutableBufferPointer(start: base.bindMemory(to: Float.self, capacity: count), count: count))
            } catch {
                throw ContainerError(path: path, tensor: entry.name, fault: .corruptPayload(error.reason))
            }
            return
        }
        #endif
        let values = try floats(of: entry, codec: codec, path: path)
        values.withUnsafeBufferPointer { SafetensorsTensor.encode($0, as: dtype, into: bytes) }
    }

    /// Restores one tensor's bytes in its original dtype, as `decode(_:codec:path:into:)` does, and
    /// hands them to `write(offset, bytes)` (offset within the tensor). A float32 JPEG or
    /// entropy-trellis tensor goes out in pieces of a few hundred KiB, each written while it is still
    /// in cache, with no buffer of the whole tensor (JPEG pieces in storage order; entropy-trellis
    /// ones in any order, from several threads at once for a large tensor); any other tensor is
    /// restored into `buffer(size)` (exactly that many bytes, e.g. a worker's reused buffer) and
    /// handed out whole. Errors of `write` are thrown unchanged.
    public static func decode(_ entry: ContainerEntry, codec: JPEGTensorCodec, path: String,
                              buffer: (Int) -> UnsafeMutableRawBufferPointer,
                              write: @Sendable (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        let (dtype, size): (SafetensorsDType, Int)
        switch try checked(entry, path: path) {
        case .exact(let tensor):
            try tensor.data.withUnsafeBytes { try write(0, $0) }
            return
        case .decoded(let d, let n):
            (dtype, size) = (d, n)
        }
        #if _endian(little)
        if dtype == .F32, entry.zeroSlices.isEmpty {
            let emit: @Sendable (Int, UnsafeBufferPointer<Float>) throws -> Void = { try write($0 * 4, UnsafeRawBufferPointer($1)) }
            do {
                if entry.shape.count >= 2, entry.shape[0] > 0, case .jpeg(let p) = entry.coding {
                    let rows = entry.shape[0]
                    let parsed = try JPEGTensorPayloads(entry.payloads, rows: rows, columns: size / 4 / rows, parameters: p)
                    try codec.decode(parsed, pieceValues: 64 << 10, emit: emit)
                    return
                }
                if case .entropyTrellis(let p) = entry.coding {
                    let (rows, columns) = EntropyTrellisCodec.matrix(entry.shape, count: size / 4)
                    try EntropyTrellis.decode(entry.payloads, parameters: p, rows: rows, columns: columns, emit: emit)
                    return
                }
            } catch let error as CodecError {
                throw ContainerError(path: path, tensor: entry.name, fault: .corruptPayload(error.reason))
            }
        }
        #endif
        let bytes = buffer(size)
        try decode(entry, codec: codec, path: path, into: bytes)
        try write(0, UnsafeRawBufferPointer(bytes))
    }

    /// The float tensors of a container, by name (for building a model).
    public static func floatTensors(_ container: Container, path: String) throws -> [String: FloatTensor] {
        let codec = try JPEGTensorCodec()
        var out: [String: FloatTensor] = [:]
        for entry in container.entries where SafetensorsDType(rawValue: entry.dtype)?.convertsToFloat == true {
            out[entry.name] = FloatTensor(shape: entry.shape, values: try floats(of: entry, codec: codec, path: path))
        }
        return out
    }
}
