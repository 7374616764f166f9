import Foundation
import WeightJPEGCore
import WeightJPEGFormats

/// What coding did to one tensor, measured by decoding what the file stores: the line `compress`
/// prints per tensor (`--json`) and the worst of which it reports.
public struct TensorOutcome: Codable, Sendable, Equatable {
    /// Tensor name.
    public var name: String
    /// The coding with its parameters (`TensorCoding.description`).
    public var coding: String
    /// Bytes the tensor takes in the file: its header record and payloads.
    public var bytes: Int
    /// Decoded against the input tensor (same shape; F16/BF16 compared after rounding to the dtype,
    /// F64 as float32); relative error 0 for a tensor stored bit for bit; nil for a non-float tensor
    /// (stored exactly).
    public var error: WeightDistortion?

    /// An outcome.
    public init(name: String, coding: String, bytes: Int, error: WeightDistortion?) {
        self.name = name
        self.coding = coding
        self.bytes = bytes
        self.error = error
    }
}

extension ModelCodec {
    /// Codes one tensor like `encode(_:policy:codec:)` and measures the result: the error-targeted
    /// search's own measurement when it chose the coding, else a decode of the entry.
    public static func encodeMeasured(_ tensor: SafetensorsTensor, policy: CompressionPolicy,
                                      codec: JPEGTensorCodec) throws -> (ContainerEntry, TensorOutcome) {
        var measured: WeightDistortion? = nil
        let entry = try encode(tensor, policy: policy, codec: codec) { measured = $0 }
        if let measured {
            return (entry, TensorOutcome(name: entry.name, coding: entry.coding.description, bytes: entry.storedBytes, error: measured))
        }
        return (entry, try outcome(of: entry, original: tensor, codec: codec, path: "<memory>"))
    }

    /// `entry` decoded (zero slices restored) and compared with `original`, the input tensor of
    /// the same name. Exact entries are compared byte for byte (error 0).
    public static func outcome(of entry: ContainerEntry, original: SafetensorsTensor, codec: JPEGTensorCodec,
                               path: String) throws -> TensorOutcome {
        var error: WeightDistortion? = nil
        if entry.coding == .exact && entry.zeroSlices.isEmpty {
            error = original.dtype.convertsToFloat ? WeightDistortion(squaredError: 0, squaredNorm: 1, count: 1) : nil
        } else if original.dtype.convertsToFloat {
            let decoded = try decode(entry, codec: codec, path: path)
            error = try WeightDistortion(original: original, decoded: decoded)
        }
        return TensorOutcome(name: entry.name, coding: entry.coding.description, bytes: entry.storedBytes, error: error)
    }
}
