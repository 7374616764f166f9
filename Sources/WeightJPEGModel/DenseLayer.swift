import WeightJPEGCore
/// A fully connected layer `y = W x + b` with PyTorch's `nn.Linear` layout: `weight` is
/// `outputs × inputs`, row `j` holds the weights of output unit `j`.
public struct DenseLayer: Equatable, Sendable {
    /// `outputs × inputs` weights.
    public var weight: Matrix
    /// `outputs` biases.
    public var bias: [Float]

    /// Number of inputs (columns of `weight`).
    public var inputs: Int { weight.columns }
    /// Number of outputs (rows of `weight`).
    public var outputs: Int { weight.rows }

    /// A layer from its weights and biases; `bias.count` must equal `weight.rows`.
    public init(weight: Matrix, bias: [Float]) {
        precondition(bias.count == weight.rows, "bias has \(bias.count) entries for \(weight.rows) outputs")
        self.weight = weight
        self.bias = bias
    }

    /// PyTorch's default `nn.Linear` initialization: weights kaiming-uniform with a = √5, which is
    /// uniform in ±1/√inputs, and biases uniform in ±1/√inputs.
    public init(inputs: Int, outputs: Int, rng: inout RandomSource) {
        let bound = 1 / Float(inputs).squareRoot()
        var w = Matrix(rows: outputs, columns: inputs)
        for i in 0..<w.count { w.storage[i] = rng.uniform(bound) }
        let b = (0..<outputs).map { _ in rng.uniform(bound) }
        self.init(weight: w, bias: b)
    }

    /// `Y = X Wᵀ + b` for a batch: `x` is `batch × inputs`, `y` is `batch × outputs`, row-major.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>) {
        let n = outputs
        bias.withUnsafeBufferPointer { b in
            for r in 0..<batch { (y + r * n).update(from: b.baseAddress!, count: n) }
        }
        weight.storage.withUnsafeBufferPointer { w in
            BLAS.sgemm(.none, .transpose, m: batch, n: n, k: inputs,
                       a: x, lda: inputs, b: w.baseAddress!, ldb: inputs,
                       beta: 1, c: y, ldc: n)
        }
    }
}
