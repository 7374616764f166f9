import CWeightJPEG
import Foundation
import WeightJPEG

// The writing half of include/weightjpeg.h: compress named tensors held by the caller into a .wjpg
// file or buffer. The caller's tensors are validated (names, dtypes, shapes, sizes) before anything
// is coded; each tensor is coded by `ModelCodec.encode` in parallel, one JPEG codec per worker.

/// A request of `wj_compress`, validated: the tensors (copied out of the caller's memory) and the
/// coding policy.
struct CompressionRequest {
    var tensors: [SafetensorsTensor]
    var metadata: [String: String]?
    var policy = CompressionPolicy()
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    init(tensors: UnsafePointer<wj_tensor>?, count: Int, metadata: UnsafePointer<wj_metadata_item>?, metadataCount: Int,
         options: UnsafePointer<wj_options>?) throws {
        guard count >= 0, tensors != nil || count == 0 else { throw CInterfaceError.argument("tensors is NULL") }
        guard metadataCount >= 0, metadata != nil || metadataCount == 0 else { throw CInterfaceError.argument("metadata is NULL") }
        var names = Set<String>()
        self.tensors = try (0..<count).map { i in
            let t = try Self.tensor(tensors![i], index: i)
            guard names.insert(t.name).inserted else { throw CInterfaceError.argument("tensor '\(t.name)' appears twice") }
            return t
        }
        if let metadata {
            var pairs: [String: String] = [:]
            for i in 0..<metadataCount {
                let key = try CStatus.string(metadata[i].key, "metadata key \(i)")
                guard pairs.updateValue(try CStatus.string(metadata[i].value, "metadata value of '\(key)'"), forKey: key) == nil else {
                    throw CInterfaceError.argument("metadata key '\(key)' appears twice")
                }
            }
            self.metadata = pairs
        }
        var o = wj_options(quality: 0, max_rel_error: 0, jobs: 0)
        if let options { o = options.pointee }
        guard o.quality == 0 || (1...100).contains(o.quality) else {
            throw CInterfaceError.argument("quality must be 1-100 (0: none), got \(o.quality)")
        }
        guard o.max_rel_error == 0 || (o.max_rel_error > 0 && o.max_rel_error < 1) else {
            throw CInterfaceError.argument("max_rel_error must be between 0 and 1 (exclusive; 0: the default), got \(o.max_rel_error)")
        }
        guard o.jobs >= 0 else { throw CInterfaceError.argument("jobs must be ≥ 0 (0: one per core), got \(o.jobs)") }
        policy = Self.policy(quality: Int(o.quality), maxRelativeError: o.max_rel_error)
        if o.jobs > 0 { jobs = Int(o.jobs) }
    }

    /// The policy of `weightjpeg compress` with the same options: with a quality, image-like tensors
    /// are JPEG-coded at it (others error-bounded at 0.002, or at `maxRelativeError` when not 0);
    /// without one, every float tensor is error-bounded at `maxRelativeError` or
    /// `CompressionPolicy.defaultMaxRelativeError`.
    static func policy(quality: Int, maxRelativeError: Double) -> CompressionPolicy {
        var policy = CompressionPolicy()
        policy.quality = quality == 0 ? 20 : quality
        let bound: Double? = maxRelativeError == 0 ? nil : maxRelativeError
        policy.maxRelativeError = bound ?? (quality == 0 ? CompressionPolicy.defaultMaxRelativeError : nil)
        return policy
    }

    /// The caller's tensor `index`, its bytes copied.
    private static func tensor(_ t: wj_tensor, index: Int) throws -> SafetensorsTensor {
        let name = try CStatus.string(t.name, "name of tensor \(index)")
        let dtypeName = try CStatus.string(t.dtype, "dtype of tensor '\(name)'")
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw CInterfaceError.argument("tensor '\(name)': unknown dtype '\(dtypeName)' (safetensors spelling: F32, F16, BF16, I64, …)")
        }
        guard (0...Int32(WJ_MAX_RANK)).contains(t.rank) else { throw CInterfaceError.argument("tensor '\(name)': rank \(t.rank) is not 0-\(WJ_MAX_RANK)") }
        guard t.shape != nil || t.rank == 0 else { throw CInterfaceError.argument("tensor '\(name)': shape is NULL") }
        var shape: [Int] = []
        var count = 1
        for k in 0..<Int(t.rank) {
            let d = t.shape![k]
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard d >= 0, d <= Int64(Int32.max), !overflow, product <= 1 << 40 else {
                throw CInterfaceError.argument("tensor '\(name)': shape dimension \(d) is negative or too large")
            }
            shape.append(Int(d))
            count = product
        }
        let bytes = count * dtype.byteSize
        guard t.size == UInt64(bytes) else {
            throw CInterfaceError.argument("tensor '\(name)': \(t.size) bytes given, shape \(shape) of \(dtype.rawValue) has \(bytes)")
        }
        guard t.data != nil || bytes == 0 else { throw CInterfaceError.argument("tensor '\(name)': data is NULL") }
        let data = bytes == 0 ? Data() : Data(bytes: t.data!, count: bytes)
        return SafetensorsTensor(name: name, dtype: dtype, shape: shape, data: data)
    }

    /// Codes every tensor in parallel and hands the entries, in order, to `consume`.
    func encode(_ consume: (ContainerEntry) throws -> Void) throws {
        let tensors = self.tensors, policy = self.policy
        try OrderedParallelMap.run(
            count: tensors.count, jobs: jobs, window: 256,
            budget: max((tensors.map(\.data.count).max() ?? 0) + (16 << 20), 64 << 20),
            cost: { tensors[$0].data.count },
            resultCost: { entry in entry.payloads.reduce(0) { $0 + $1.count } },
            makeWorker: { try JPEGTensorCodec() },
            work: { codec, i in try ModelCodec.encode(tensors[i], policy: policy, codec: codec) },
            consume: { _, entry in try consume(entry) })
    }
}

@_cdecl("wj_compress")
public func wj_compress(_ tensors: UnsafePointer<wj_tensor>?, _ count: Int, _ metadata: UnsafePointer<wj_metadata_item>?,
                        _ metadataCount: Int, _ options: UnsafePointer<wj_options>?, _ path: UnsafePointer<CChar>?,
                        _ error: UnsafeMutablePointer<wj_error>?) -> Int32 {
    CStatus.run(error) {
        let path = try CStatus.string(path, "path")
        let request = try CompressionRequest(tensors: tensors, count: count, metadata: metadata, metadataCount: metadataCount, options: options)
        let writer = try ContainerWriter(path: path, metadata: request.metadata)
        try request.encode { try writer.append($0) }
        try writer.finish()
    }
}

@_cdecl("wj_compress_to_memory")
public func wj_compress_to_memory(_ tensors: UnsafePointer<wj_tensor>?, _ count: Int, _ metadata: UnsafePointer<wj_metadata_item>?,
                                  _ metadataCount: Int, _ options: UnsafePointer<wj_options>?,
                                  _ data: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ size: UnsafeMutablePointer<Int>?,
                                  _ error: UnsafeMutablePointer<wj_error>?) -> Int32 {
    CStatus.run(error) {
        guard let data, let size else { throw CInterfaceError.argument("data or size is NULL") }
        data.pointee = nil
        size.pointee = 0
        let request = try CompressionRequest(tensors: tensors, count: count, metadata: metadata, metadataCount: metadataCount, options: options)
        var entries: [ContainerEntry] = []
        try request.encode { entries.append($0) }
        let bytes = Container(metadata: request.metadata, entries: entries).serialized()
        guard let out = malloc(max(bytes.count, 1)) else { throw CInterfaceError(code: WJ_ERROR_INTERNAL, description: "out of memory (\(bytes.count) bytes)") }
        bytes.withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        data.pointee = out
        size.pointee = bytes.count
    }
}

@_cdecl("wj_free")
public func wj_free(_ data: UnsafeMutableRawPointer?) {
    free(data)
}
