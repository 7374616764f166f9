import Foundation

/// How the small 2-D tensors (the output layer) are coded.
public enum OutputCoding: Hashable, Sendable, CustomStringConvertible {
    /// The policy's `int8PerRow` (8 bits per weight plus a float32 scale per row).
    case int8PerRow
    /// One JPEG image of the whole tensor (per-tensor min/max), flat table with this step: an
    /// entropy-coded uniform quantizer in the (orthonormal) DCT domain.
    case jpegFlat(step: Int)
    /// The cheapest coding within this relative RMS error (`ErrorTargetedSearch`, as
    /// `compress --max-rel-error` codes a tensor; on an output layer coding 6 wins), and the
    /// policy's float16 tensors (the biases) too, within a tenth of it for 1-D ones
    /// (`CompressionPolicy.oneDimensionalBoundFactor`). On reference model 0 (the README's session,
    /// first layer at IJG quality 100): 0.2 took 1.7 KB for a drop of 0.04 pp on the shifted
    /// copies, a flat-table JPEG step 16 3.8 KB for 0.09 pp (its 10 rows padded to 16 for the
    /// 8 × 8 blocks), int8 per row 5.0 KB for 0.01 pp.
    case bounded(relativeError: Double)

    public var description: String {
        switch self {
        case .int8PerRow: return "int8-row"
        case .jpegFlat(let s): return "jpeg flat \(s)"
        case .bounded(let e): return "rel-error \(e)"
        }
    }
}
