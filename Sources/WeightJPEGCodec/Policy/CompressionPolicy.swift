import Foundation
import WeightJPEGCore
import WeightJPEGFormats

/// Which coding each tensor gets. The rules, in order:
/// 1. a name matching an `exactPatterns` glob, or a dtype that is not F32/F16/BF16 → `exact`;
/// 2. 1-D or tiny tensors (fewer than 1,024 elements) → `float16` for F32 (when the values fit
///    float16's range), else `exact` (F16/BF16 are already two bytes);
/// 3. tensors of rank ≥ 2 are viewed as `shape[0] × (product of the rest)` (a convolution kernel
///    `out × in × kh × kw` becomes `out × (in·kh·kw)`); with at least `jpegMinimumElements` elements
///    and a layout that fits → `jpeg` when the tensor is image-like on that layout (DCT coding gain ≥
///    `imageLikeMinimumGain`), else error-targeted at `noiseLikeRelativeError` (when set);
/// 4. other tensors of rank ≥ 2 → `int8PerRow`.
///
/// With `maxRelativeError` set, rule 1 and the quality overrides still apply; every other float
/// tensor (any rank, any size) is coded by `ErrorTargetedSearch`.
///
/// `CompressionPolicy()` is these rules at quality 20: right for a task-checked model (the founding
/// MLP tolerates relative error 0.46 in its first layer) and wrong for a model nobody evaluated.
/// `CompressionPolicy.transparent` is what a tool offers by default: every float tensor within
/// `defaultMaxRelativeError`.
public struct CompressionPolicy: Sendable {
    /// The relative RMS error `‖ΔW‖/‖W‖` a model nobody evaluated gets on every float tensor (1-D
    /// ones a tenth of it): 0.002, about what MPEG NNC's usual step (qp −38) leaves. Real networks
    /// survive it; int8 per row (≈ 0.01) already breaks some, and JPEG at quality 20 on a tensor
    /// that is not an image (0.1–1.0) breaks most. Larger errors need the task: an explicit quality,
    /// or a bound on the task metric.
    public static let defaultMaxRelativeError = 0.002

    /// Error-targeted at `defaultMaxRelativeError` on every float tensor: the policy for a model whose
    /// task the tool cannot see.
    public static var transparent: CompressionPolicy {
        var policy = CompressionPolicy()
        policy.maxRelativeError = defaultMaxRelativeError
        return policy
    }

    /// IJG quality for JPEG-coded tensors.
    public var quality: Int = 20
    /// Tile layout; `nil` chooses per tensor: `rows:28x28` for 784 columns (MNIST-sized inputs),
    /// `matrix:64x64` otherwise.
    public var layout: TileLayout? = nil
    /// Per-tensor or per-tile min/max.
    public var scale: ScaleMode = .tensor
    /// How tiles go into streams: one mosaic image, or abbreviated streams sharing one tables-only stream.
    public var pack: PackMode = .mosaic
    /// Whether the entropy coder uses Huffman tables optimized per image (smaller files, slower encode).
    public var optimizeHuffman = true
    /// Arithmetic coding instead of Huffman.
    public var arithmetic = false
    /// Whether the streams are progressive (several scans) rather than baseline sequential.
    public var progressive = false
    /// Smallest 2-D tensor that is JPEG-coded.
    public var jpegMinimumElements = 16_384
    /// Globs (`fnmatch` syntax) of tensor names kept bit for bit.
    public var exactPatterns: [String] = []
    /// Per-tensor quality overrides: the first glob that matches wins.
    public var qualityOverrides: [(pattern: String, quality: Int)] = []
    /// Error-targeted mode: when set, every float tensor not kept exact (by `exactPatterns` or a
    /// quality override) gets the cheapest coding whose measured relative RMS error is at most this
    /// (see `ErrorTargetedSearch`); rules 2–4 below do not apply.
    public var maxRelativeError: Double? = nil
    /// In error-targeted mode, rank-0 and rank-1 tensors (biases, LayerNorm gains, scalars) get the
    /// bound `maxRelativeError × oneDimensionalBoundFactor`: they are a tiny share of the weights
    /// but sensitive (on all-MiniLM-L6-v2 at E = 0.03 they caused half of the embedding-cosine loss;
    /// see docs/results/any-model.md), so coding them finely costs almost nothing.
    public var oneDimensionalBoundFactor = 0.1
    /// Per-tensor error bounds in error-targeted mode (`--max-rel-error-for GLOB=E`): the first glob
    /// that matches wins over `maxRelativeError` and the 1-D factor.
    public var maxRelativeErrorOverrides: [(pattern: String, bound: Double)] = []

    /// Bounds by exact tensor name, set by an allocation (`ErrorAllocation`); they win over every
    /// other error rule.
    public var tensorBounds: [String: Double] = [:]
    /// JPEG settings by exact tensor name, set by an allocation that walks a tensor's ladder of
    /// JPEG codings (`ErrorAllocation`'s refinement): the tensor is JPEG-coded on `layout` with
    /// the table kind and level of `setting` (`ErrorTargetedSearch.jpeg`), as the error-targeted
    /// search codes a JPEG probe; it wins over every other rule but `exactPatterns`. A setting the
    /// tensor cannot take (the layout does not fit, or `DecodeLimits` would refuse it) falls back
    /// to the other rules.
    public var tensorJPEGSettings: [String: JPEGLadderRung] = [:]

    /// The relative-error bound for a tensor in error-targeted mode, nil outside it.
    public func relativeErrorBound(name: String, rank: Int) -> Double? {
        if let b = tensorBounds[name] { return b }
        if let o = maxRelativeErrorOverrides.first(where: { Self.glob($0.pattern, matches: name) }) { return o.bound }
        guard let e = maxRelativeError else { return nil }
        return rank < 2 ? e * oneDimensionalBoundFactor : e
    }
    /// In error-targeted mode, JPEG is tried for a tensor only when the 8×8 DCT's coding gain on it,
    /// over the AC frequencies (`ErrorTargetedSearch.jpegWorthSearching`), is at least this; 1.05 is
    /// at most 0.035 bits per weight of possible saving. 0 tries JPEG on every tensor.
    public var jpegMinimumCodingGain = 1.05

    /// Outside error-targeted mode, a tensor the rules would JPEG-code whose 8×8 DCT coding gain
    /// (`ErrorTargetedSearch.codingGain`, AC frequencies) on its layout is below `imageLikeMinimumGain` is noise-like:
    /// the IJG table at a low quality would destroy it (relative error ≈ 0.8 on a transformer's linear
    /// layers at quality 20), so it is coded by `ErrorTargetedSearch` with this bound instead (default
    /// `defaultMaxRelativeError`: an explicit quality says how much error the image-like tensors may
    /// take, not the others). `nil` JPEG-codes every such tensor as the rules say.
    public var noiseLikeRelativeError: Double? = defaultMaxRelativeError
    /// The coding gain over the 63 AC frequencies from which a tensor counts as image-like (the
    /// founding MLP's first layer as 28×28 rows: 2.10–2.11 for the three reference models, 1.94 for a
    /// model trained here; white noise: 1.0–1.05; all-MiniLM-L6-v2's linear layers ≈ 1.00).
    public var imageLikeMinimumGain = 1.25

    /// The rules at quality 20, automatic layout, per-tensor scale, mosaic, optimized Huffman;
    /// noise-like tensors error-targeted at `defaultMaxRelativeError`.
    public init() {}

    /// The bound for a tensor that the rules would JPEG-code but that is noise-like (see
    /// `noiseLikeRelativeError`); nil for every other tensor, in error-targeted mode, for tensors with
    /// a quality override, and for tensors holding non-finite values (rejected later, by name).
    public func noiseLikeBound(name: String, dtype: SafetensorsDType, shape: [Int], values: [Float]?) -> Double? {
        guard let bound = noiseLikeRelativeError, maxRelativeError == nil, !hasQualityOverride(name),
              let values, case .jpeg(let p) = classic(name: name, dtype: dtype, shape: shape, values: values),
              FloatScan.firstNonFinite(values) == nil else { return nil }
        return isImageLike(values, rows: shape[0], layout: p.layout) ? nil : bound
    }

    /// Whether `values` (`rows × rest`) are image-like on `layout`: the 8×8 DCT's coding gain over
    /// the AC frequencies (`ErrorTargetedSearch.codingGain`) reaches `imageLikeMinimumGain`.
    public func isImageLike(_ values: [Float], rows: Int, layout: TileLayout) -> Bool {
        let rms = QuantizationTables.coefficientRMS(values, rows: rows, columns: values.count / max(rows, 1), layout: layout)
        // AC frequencies only: the DC term mostly measures where the tensor's mean falls in its
        // min/max range (one outlier makes white noise look 100× "image-like" through DC alone).
        return ErrorTargetedSearch.codingGain(Array(rms.dropFirst())) >= imageLikeMinimumGain
    }

    /// The coding for `tensor`, whose `count` values (when floating point) are `values`.
    public func coding(name: String, dtype: SafetensorsDType, shape: [Int], values: [Float]?) -> TensorCoding {
        classic(name: name, dtype: dtype, shape: shape, values: values)
    }

    /// Whether `name` matches an `exactPatterns` glob.
    public func isExact(_ name: String) -> Bool {
        exactPatterns.contains { Self.glob($0, matches: name) }
    }

    /// Whether `name` has a `--quality-for` override.
    public func hasQualityOverride(_ name: String) -> Bool {
        qualityOverrides.contains { Self.glob($0.pattern, matches: name) }
    }

    private func classic(name: String, dtype: SafetensorsDType, shape: [Int], values: [Float]?) -> TensorCoding {
        let count = shape.reduce(1, *)
        if exactPatterns.contains(where: { Self.glob($0, matches: name) }) { return .exact }
        guard [.F32, .F16, .BF16].contains(dtype), let values else { return .exact }
        if shape.count < 2 || count < 1024 {
            if dtype == .F32 && values.allSatisfy({ abs($0) <= 65_504 || !$0.isFinite }) { return .float16 }
            return .exact
        }
        let rows = shape[0], columns = count / max(rows, 1)
        if count >= jpegMinimumElements, rows > 0 {
            let layout = self.layout ?? (columns == 784 ? .rows(height: 28, width: 28) : TileLayout.defaultMatrix)
            if layout.fits(rows: rows, columns: columns) {
                let q = qualityOverrides.first { Self.glob($0.pattern, matches: name) }?.quality ?? quality
                return .jpeg(JPEGTensorParameters(layout: layout, scale: scale, pack: pack, quality: q,
                                                  optimizeHuffman: optimizeHuffman, arithmetic: arithmetic,
                                                  progressive: progressive))
            }
        }
        return .int8PerRow
    }

    /// Shell-style glob match (`*`, `?`, `[...]`) of a whole tensor name.
    public static func glob(_ pattern: String, matches name: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }
}
