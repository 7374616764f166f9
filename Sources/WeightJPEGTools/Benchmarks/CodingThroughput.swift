import Foundation
import WeightJPEG

/// Compress and decompress speed of each coding on one thread (`weightjpeg bench model`): every
/// tensor of a checkpoint is coded by `ModelCodec.encode` under a policy and decoded by
/// `ModelCodec.decode(_:codec:path:into:)` into a buffer of its dtype, each timed alone (process
/// CPU time, so other load on the machine does not count, and a tensor decoded on several threads
/// counts all their time) and the times summed per coding the policy chose. MB/s are of float32
/// (4 bytes per element, whatever the stored dtype) per CPU-second, so "compress" includes the
/// policy's own choice (for error-targeted tensors: the step choice and the verifying decode).
public struct CodingThroughput: Sendable {
    /// The totals of one coding.
    public struct Row: Sendable {
        /// The coding's short name (`TensorCoding.name`).
        public var coding: String
        /// Tensors coded with it.
        public var tensors = 0
        /// Elements of those tensors.
        public var elements = 0
        /// Payload and parameter bytes written.
        public var codedBytes = 0
        /// Process CPU seconds spent encoding and decoding them.
        public var encodeSeconds = 0.0
        public var decodeSeconds = 0.0

        /// Float32 megabytes per second of encoding and of decoding.
        public var encodeMBps: Double { Double(4 * elements) / 1e6 / encodeSeconds }
        public var decodeMBps: Double { Double(4 * elements) / 1e6 / decodeSeconds }
        /// Coded bits per element.
        public var bitsPerWeight: Double { Double(8 * codedBytes) / Double(max(elements, 1)) }
    }

    /// One row per coding used, largest share of elements first.
    public let rows: [Row]

    /// Codes and decodes every tensor of the checkpoint at `path` under `policy`, on this thread.
    public init(checkpoint path: String, policy: CompressionPolicy) throws {
        let reader = try SafetensorsReader(path: path)
        let codec = try JPEGTensorCodec()
        var byCoding: [String: Row] = [:]
        func now() -> Double { RawJPEGReference.processCPUSeconds() }
        for i in 0..<reader.count {
            let tensor = reader.tensor(i)
            defer { reader.release(i) }
            let t0 = now()
            let entry = try ModelCodec.encode(tensor, policy: policy, codec: codec)
            let t1 = now()
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(tensor.data.count, 1), alignment: 64)
            defer { buffer.deallocate() }
            let output = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<tensor.data.count])
            let t2 = now()
            try ModelCodec.decode(entry, codec: codec, path: path, into: output)
            let t3 = now()
            var row = byCoding[entry.coding.name] ?? Row(coding: entry.coding.name)
            row.tensors += 1
            row.elements += tensor.count
            row.codedBytes += entry.payloads.reduce(0) { $0 + $1.count } + entry.coding.parameterBytes.count
            row.encodeSeconds += t1 - t0
            row.decodeSeconds += t3 - t2
            byCoding[entry.coding.name] = row
        }
        rows = byCoding.values.sorted { $0.elements != $1.elements ? $0.elements > $1.elements : $0.coding < $1.coding }
    }
}

