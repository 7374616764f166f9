import WeightJPEGCodec

/// A fully connected layer `y = W x + b` whose weight rows are JPEG-coded neuron images, run on
/// their quantized DCT coefficients by one of three kernels (`DCTLayerKernel`), chosen by name.
public enum DCTLinear: Sendable {
    /// The kernel names, as the command line spells them.
    public enum Kernel: String, Sendable, CaseIterable {
        case sparse
        case reducedDense = "reduced"
        case compact
    }

    case sparse(SparseKernel)
    case reducedDense(ReducedKernel)
    case compact(CompactKernel)

    /// The layer over `coefficients` with `bias` (`coefficients.rows` entries), stored for `kernel`.
    public init(coefficients: CoefficientTensor, bias: [Float], kernel: Kernel) {
        switch kernel {
        case .sparse: self = .sparse(SparseKernel(coefficients: coefficients, bias: bias))
        case .reducedDense: self = .reducedDense(ReducedKernel(coefficients: coefficients, bias: bias))
        case .compact: self = .compact(CompactKernel(coefficients: coefficients, bias: bias))
        }
    }

    /// Which kernel stores and multiplies this layer (sparse, reduced dense or compact).
    public var kernel: Kernel {
        switch self {
        case .sparse: .sparse
        case .reducedDense: .reducedDense
        case .compact: .compact
        }
    }

    /// The kernel's storage and loops.
    public var implementation: any DCTLayerKernel {
        switch self {
        case .sparse(let k): k
        case .reducedDense(let k): k
        case .compact(let k): k
        }
    }

    /// Number of inputs (`H · W`).
    public var inputs: Int { implementation.inputs }
    /// Number of outputs (neurons).
    public var outputs: Int { implementation.outputs }
    /// The block DCT applied to the input image before the layer's coefficients are used.
    public var dct: BlockDCT { implementation.dct }
    /// See `DCTLayerKernel.storedCoefficients`.
    public var storedCoefficients: Int { implementation.storedCoefficients }
    /// See `DCTLayerKernel.residentBytes`.
    public var residentBytes: Int { implementation.residentBytes }
    /// See `DCTLayerKernel.multiplyAddsPerSample`.
    public var multiplyAddsPerSample: Int { implementation.multiplyAddsPerSample }

    /// K, the frequencies nonzero in some neuron that the reduced and compact kernels keep (0 for
    /// the sparse kernel, which keeps per-neuron lists instead).
    public var reducedWidth: Int {
        switch self {
        case .sparse: 0
        case .reducedDense(let k): k.keptFrequencies
        case .compact(let k): k.keptFrequencies
        }
    }

    /// The compact kernel's frequencies stored as Int8 rows (the rest of `reducedWidth` are Int16);
    /// 0 for the other kernels.
    public var compactByteRows: Int {
        if case .compact(let k) = self { k.int8Rows } else { 0 }
    }

    /// `y = W x + b` for `batch` samples: `x` is `batch × inputs`, `y` is `batch × outputs`, row-major.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>) {
        // A direct switch, not `implementation`: batch-1 latency is measured through this call.
        switch self {
        case .sparse(let k): k.forward(x, batch: batch, into: y)
        case .reducedDense(let k): k.forward(x, batch: batch, into: y)
        case .compact(let k): k.forward(x, batch: batch, into: y)
        }
    }

    /// `forward` on arrays: `x` holds `batch × inputs` values; returns `batch × outputs`.
    public func forward(_ x: [Float], batch: Int) -> [Float] {
        implementation.forward(x, batch: batch)
    }
}
