import Foundation
import WeightJPEGCore
import WeightJPEGFormats

/// Whole-file compression and decompression for files of any size: the input is memory-mapped, tensors
/// are coded in parallel (one `JPEGTensorCodec` per worker thread) by `ModelCodec.encode` /
/// `ModelCodec.decode`, and the output is streamed in input order, so resident memory is bounded by
/// the tensors in flight, not by the file size. The outputs are byte-identical to the in-memory path
/// (`ModelCodec.compress(_:policy:).serialized()`, `ModelCodec.decompress(_:path:).serialized()`), for
/// any number of jobs. On any error nothing is left at the output path.
public enum ModelPipeline {
    /// How to run a pass.
    public struct Options: Sendable {
        /// Worker threads (default: every core).
        public var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
        /// Most tensors started but not yet written (default: 256; memory is bounded by the budget).
        public var window: Int? = nil
        /// Most bytes in flight (see `OrderedParallelMap`: input bytes of tensors being compressed and
        /// payload bytes of compressed ones not yet written; payload plus output bytes of tensors being
        /// decompressed, and, when the output is a stream, output bytes of decoded ones not yet
        /// written; default: the largest tensor plus 16 MiB, at least 64 MiB, so that small tensors keep
        /// the other cores busy while the largest is coded); a tensor larger than this runs alone.
        public var budgetBytes: Int? = nil
        /// Report progress on stderr.
        public var progress = false

        /// The defaults: a job per core, the default window and budget, no progress lines.
        public init() {}
    }

    /// What a pass did.
    public struct Summary: Sendable {
        /// Number of tensors coded or decoded.
        public let tensors: Int
        /// Size of the input file in bytes.
        public let inputBytes: Int
        /// Size of the output file in bytes.
        public let outputBytes: Int
        /// Wall time in seconds.
        public let seconds: Double
        /// Compression only: each tensor's coding, bytes and error measured by decoding, in file order.
        public var outcomes: [TensorOutcome] = []
    }

    /// A decompression worker: its codec and the buffer it decodes each tensor into, kept from
    /// tensor to tensor (grown to the largest) so its pages are faulted in once.
    struct DecodeWorker {
        let codec: JPEGTensorCodec
        private var scratch: LargeBuffer?

        init(codec: JPEGTensorCodec) { self.codec = codec }

        /// The first `count` bytes of the buffer, grown if needed (contents undefined).
        mutating func buffer(_ count: Int) -> UnsafeMutableRawBufferPointer {
            if scratch == nil || scratch!.bytes.count < count { scratch = LargeBuffer(byteCount: count) }
            return UnsafeMutableRawBufferPointer(rebasing: scratch!.bytes[0..<count])
        }
    }

    static func defaultBudget(largest: Int) -> Int { max(largest + (16 << 20), 64 << 20) }

    /// Compresses the safetensors file `input` into the `.wjpg` file `output`.
    @discardableResult
    public static func compress(input: String, output: String, policy: CompressionPolicy,
                                options: Options = Options()) throws -> Summary {
        let start = DispatchTime.now().uptimeNanoseconds
        let reader = try SafetensorsReader(path: input)
        let sizes = reader.layout.tensors.map { $0.range.count }
        let writer = try ContainerWriter(path: output, metadata: reader.metadata)
        let progress = options.progress ? ProgressReporter(label: "compress", totalItems: reader.count, totalBytes: sizes.reduce(0, +)) : nil
        var done = 0
        var outcomes: [TensorOutcome] = []
        try OrderedParallelMap.run(
            count: reader.count, jobs: options.jobs, window: options.window ?? 256,
            budget: options.budgetBytes ?? defaultBudget(largest: sizes.max() ?? 0),
            cost: { sizes[$0] },
            resultCost: { coded in coded.0.payloads.reduce(0) { $0 + $1.count } },
            makeWorker: { try JPEGTensorCodec() },
            work: { codec, i in
                defer { reader.release(i) }
                do {
                    return try ModelCodec.encodeMeasured(reader.tensor(i), policy: policy, codec: codec)
                } catch let e as CodecError {
                    throw ModelFileError(path: input, reason: e.description)
                }
            },
            consume: { i, coded in
                try writer.append(coded.0)
                outcomes.append(coded.1)
                done += sizes[i]
                progress?.update(items: i + 1, bytes: done)
            })
        progress?.finish()
        let written = try writer.finish()
        return Summary(tensors: reader.count, inputBytes: reader.fileSize, outputBytes: written,
                       seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, outcomes: outcomes)
    }

    /// Decompresses the `.wjpg` file `input` into the safetensors file `output` (original names,
    /// order, shapes, dtypes and metadata).
    @discardableResult
    public static func decompress(input: String, output: String, options: Options = Options()) throws -> Summary {
        let start = DispatchTime.now().uptimeNanoseconds
        let reader = try ContainerReader(path: input)
        var declarations: [SafetensorsWriter.Declaration] = []
        for i in 0..<reader.count {
            let d = reader.declaration(i)
            guard let dtype = SafetensorsDType(rawValue: d.dtype) else {
                throw ContainerError(path: input, tensor: d.name, fault: .corruptPayload("unknown dtype '\(d.dtype)'"))
            }
            // Every tensor's size is plausible for its payload bytes (the reader checked
            // `DecodeLimits` on opening), so the output's space can be reserved.
            declarations.append((d.name, dtype, d.restoredShape))
        }
        let sizes = declarations.map { $0.shape.reduce(1, *) * $0.dtype.byteSize }
        let costs = (0..<reader.count).map { sizes[$0] + reader.payloadBytes($0) }
        let writer = try SafetensorsWriter(path: output, tensors: declarations, metadata: reader.metadata)
        let progress = options.progress ? ProgressReporter(label: "decompress", totalItems: reader.count, totalBytes: sizes.reduce(0, +)) : nil
        var done = 0
        if let slots = try writer.placeTensors() {
            // Each worker decodes a tensor in pieces that are written to the tensor's place in the
            // file while in cache (`pwrite`; float32 JPEG and entropy-trellis tensors), or whole from
            // its reused buffer (other codings), in any order; the writer takes them in order. Cheaper
            // in CPU and memory than decoding into a shared mapping of the output (docs/PIPELINE.md).
            try OrderedParallelMap.run(
                count: reader.count, jobs: options.jobs, window: options.window ?? 256,
                budget: options.budgetBytes ?? defaultBudget(largest: costs.max() ?? 0),
                cost: { costs[$0] },
                makeWorker: { DecodeWorker(codec: try JPEGTensorCodec()) },
                work: { worker, i in
                    defer { reader.release(i) }
                    try ModelCodec.decode(reader.entry(i), codec: worker.codec, path: input,
                                          buffer: { worker.buffer($0) },
                                          write: { offset, bytes in try slots.write(i, bytes, at: offset) })
                },
                consume: { i, _ in
                    try writer.markWritten(i)
                    done += sizes[i]
                    progress?.update(items: i + 1, bytes: done)
                })
        } else {
            try OrderedParallelMap.run(
                count: reader.count, jobs: options.jobs, window: options.window ?? 256,
                budget: options.budgetBytes ?? defaultBudget(largest: costs.max() ?? 0),
                cost: { costs[$0] },
                resultCost: { $0.data.count },
                makeWorker: { try JPEGTensorCodec() },
                work: { codec, i in
                    defer { reader.release(i) }
                    return try ModelCodec.decode(reader.entry(i), codec: codec, path: input)
                },
                consume: { i, tensor in
                    try writer.append(tensor)
                    done += sizes[i]
                    progress?.update(items: i + 1, bytes: done)
                })
        }
        progress?.finish()
        try writer.finish()
        // From the declarations, not the file system: the output may be a stream.
        let outputBytes = SafetensorsFile.header(tensors: declarations, metadata: reader.metadata).count + sizes.reduce(0, +)
        return Summary(tensors: reader.count, inputBytes: reader.fileSize, outputBytes: outputBytes,
                       seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
}
