import WeightJPEG
/// The classic ways to ship an MLP's weights that `compare` measures WeightJPEG against. Each one
/// codes a whole model into self-describing bytes (`BaselineCodec`) and decodes it back.
public enum BaselineMethod: Hashable, Sendable, CustomStringConvertible {
    /// Every tensor in IEEE float16.
    case float16
    /// Weights as symmetric int8 per row (float16 scale per row), stored raw.
    case int8PerRow
    /// Weights as symmetric uniform `bits`-bit integers per row (levels −L…L, L = 2^(bits−1) − 1,
    /// float16 scale per row chosen among clipped maxima for the least squared error), the integers
    /// of each tensor coded with a static rANS coder (model stored).
    case uniformRow(bits: Int)
    /// The product's coding 4 (`entropy-uniform`) at one step per matrix, `step` × its RMS: scalar
    /// quantization with one static rANS table, as MPEG NNC without its context modeling.
    case entropyUniform(step: Double)
    /// The product's coding 6 (`entropy-trellis`) at one step per matrix, `step` × its RMS (its
    /// spacing per quantizer is twice that): trellis-coded quantization and per-class rANS.
    case entropyTrellis(step: Double)
    /// Magnitude pruning per layer to `sparsity`, survivors as uniform `bits`-bit integers (float16
    /// scale per tensor), positions as rANS-coded gaps (escape 255) and values rANS-coded.
    case pruning(sparsity: Double, bits: Int)
    /// Each weight matrix as a rank-`rank` product A·B (truncated SVD from the eigenvectors of
    /// W·Wᵀ), both factors in float16; matrices where the factors are not smaller stay float16.
    case lowRank(rank: Int)
    /// Per-layer weight sharing: 1-D k-means (linear initialization, Lloyd iterations) with `k`
    /// centroids in float16, indices Huffman-coded (code lengths stored).
    case kmeans(k: Int)

    /// The line this method belongs to in tables and charts.
    public var family: String {
        switch self {
        case .float16: return "float16"
        case .int8PerRow: return "int8 per row"
        case .uniformRow: return "uniform per row + rANS"
        case .entropyUniform: return "coding 4: uniform step + rANS"
        case .entropyTrellis: return "coding 6: trellis + per-class rANS"
        case .pruning: return "pruning + rANS"
        case .lowRank: return "low-rank SVD (fp16)"
        case .kmeans: return "k-means + Huffman"
        }
    }

    /// The setting within the family, e.g. `4 bit` or `90% sparse, 5 bit`.
    public var setting: String {
        switch self {
        case .float16, .int8PerRow: return "-"
        case .uniformRow(let b): return "\(b) bit"
        case .entropyUniform(let f), .entropyTrellis(let f): return "step \(f)×RMS"
        case .pruning(let s, let b): return "\(Int((s * 100).rounded()))% pruned, \(b) bit"
        case .lowRank(let r): return "rank \(r)"
        case .kmeans(let k): return "k \(k)"
        }
    }

    public var description: String { setting == "-" ? family : "\(family), \(setting)" }

    /// The tag byte that starts the coded model.
    var tag: UInt8 {
        switch self {
        case .float16: return 1
        case .int8PerRow: return 2
        case .uniformRow: return 3
        case .pruning: return 4
        case .lowRank: return 5
        case .kmeans: return 6
        case .entropyUniform: return 7
        case .entropyTrellis: return 8
        }
    }

    /// The default rate points of `compare`, family by family.
    public static let defaultSweep: [BaselineMethod] =
        [.float16, .int8PerRow]
        + [8, 6, 5, 4, 3, 2].map { .uniformRow(bits: $0) }
        + [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2].map { .entropyUniform(step: $0) }
        + [0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 1.2].map { .entropyTrellis(step: $0) }
        + [(0.5, 8), (0.7, 8), (0.8, 8), (0.9, 8), (0.95, 8), (0.8, 6)].map { .pruning(sparsity: $0.0, bits: $0.1) }
        + [256, 128, 64, 32, 16].map { .lowRank(rank: $0) }
        + [64, 32, 16, 8, 4, 2].map { .kmeans(k: $0) }
}
