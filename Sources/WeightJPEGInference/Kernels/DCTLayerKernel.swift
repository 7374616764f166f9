import WeightJPEGCore
import WeightJPEGCodec

/// One way of running a fully connected layer `y = W x + b` whose weight rows are JPEG-coded neuron
/// images, on their quantized DCT coefficients (see `CoefficientTensor` for the identity used):
/// `y_j = b_j + (lo_j + 128 step_j) Σx + step_j Σ_k Q[k] q_j[k] X[k]`, `X = BlockDCT(x)`.
///
/// Each kernel holds the same layer in its own storage (`SparseKernel`: the coefficient lists;
/// `ReducedKernel`: a float32 matrix over the used frequencies; `CompactKernel`: the quantized
/// coefficients as Int8/Int16 panels) and computes the same `y` up to float32 rounding.
public protocol DCTLayerKernel: Sendable {
    /// Builds the kernel's storage from a layer's coefficients and its `bias` (`coefficients.rows` entries).
    init(coefficients: CoefficientTensor, bias: [Float])
    /// The input transform (its `height × width` is the layer's input image).
    var dct: BlockDCT { get }
    /// Number of outputs (neurons).
    var outputs: Int { get }
    /// Coefficients the kernel stores (nonzero entries, matrix entries or panel entries, padding included).
    var storedCoefficients: Int { get }
    /// Bytes of the weight arrays the kernel holds, biases included.
    var residentBytes: Int { get }
    /// Multiply–adds per sample: the input's block DCT plus the kernel's own products.
    var multiplyAddsPerSample: Int { get }
    /// `y = W x + b` for `batch` samples: `x` is `batch × inputs`, `y` is `batch × outputs`, row-major.
    func forward(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>)
}

extension DCTLayerKernel {
    /// Number of inputs (`H · W` pixels of the neuron image).
    public var inputs: Int { dct.height * dct.width }

    /// Samples per chunk of the batch paths (keeps the gathered inputs at a cache-friendly size).
    static var sampleChunk: Int { 1024 }

    /// `forward` on arrays: `x` holds `batch × inputs` values; returns `batch × outputs`.
    public func forward(_ x: [Float], batch: Int) -> [Float] {
        precondition(x.count == batch * inputs, "DCTLayerKernel: \(x.count) inputs for a batch of \(batch) × \(inputs)")
        var y = [Float](repeating: 0, count: batch * outputs)
        guard batch > 0 else { return y }
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in forward(xp.baseAddress!, batch: batch, into: yp.baseAddress!) }
        }
        return y
    }
}

/// What every kernel derives from a layer in the same way: per neuron `step_j` (0 for a constant
/// tile, which decodes to `lo_j` everywhere) and `lo_j + 128 step_j` (the coefficient of `Σx`), and
/// the biases, pinned.
struct NeuronAffine {
    let steps: [Float]
    let offsets: [Float]
    let bias: PinnedArray<Float>

    /// The terms of `s`, with `bias` (`s.rows` entries).
    init(_ s: CoefficientTensor, bias: [Float]) {
        precondition(bias.count == s.rows, "DCTLayerKernel: \(bias.count) biases for \(s.rows) neurons")
        var steps = [Float](repeating: 0, count: s.rows), offsets = steps
        for j in 0..<s.rows {
            let m = s.mapping(j)
            steps[j] = m.isConstant ? 0 : m.step
            offsets[j] = m.lo + 128 * steps[j]
        }
        self.steps = steps
        self.offsets = offsets
        self.bias = PinnedArray(bias)
    }
}
