#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// A fully connected layer `y = W x + b` whose weight rows are JPEG-coded neuron images, run on
/// their quantized DCT coefficients (see `SpectralTensor` for the identity used):
/// `y_j = b_j + (lo_j + 128 step_j) Σx + step_j Σ_k Q[k] q_j[k] X[k]`, `X = BlockDCT(x)`.
///
/// Two kernels:
/// - `sparse`: the coefficient lists as they come (Int16 values, UInt16 positions); per sample the
///   input's DCT is computed once with Q folded in, then each neuron is a short gather–multiply–add.
///   Best for one sample at a time; holds only the sparse lists.
/// - `reducedDense`: only the K frequencies nonzero in some neuron, as a `rows × (K+1)` Float
///   matrix pre-multiplied by Q and `step_j` (the last column is `lo_j + 128 step_j`, against `Σx`);
///   per batch the inputs' DCTs are gathered to K columns (plus `Σx`) and multiplied through
///   `cblas_sgemm`. Best for batches.
public struct DCTLinear: Sendable {
    /// The kernel.
    public enum Kernel: String, Sendable, CaseIterable {
        case sparse
        case reducedDense = "reduced"
    }

    /// Number of inputs (`H · W`).
    public var inputs: Int { dct.height * dct.width }
    /// Number of outputs (neurons).
    public let outputs: Int
    /// The kernel this layer runs.
    public let kernel: Kernel
    /// Biases.
    public let bias: [Float]
    /// The input transform.
    public let dct: BlockDCT

    // Sparse kernel: per neuron, its nonzero coefficients (UInt16 position, Int16 value), compressed
    // sparse rows, as `SpectralTensor` holds them.
    /// Positions `64 · block + k`, neuron by neuron.
    private let positions: [UInt16]
    /// Quantized values, aligned with `positions`.
    private let values: [Int16]
    /// `outputs + 1` offsets into `positions` and `values`.
    private let rowStart: [Int32]
    /// Q as 8 SIMD8 rows (folded into the input's DCT by the sparse kernel).
    private let tableRows: [SIMD8<Float>]
    /// Per neuron `step_j`, and `lo_j + 128 step_j` (the coefficient of `Σx`).
    private let steps: [Float]
    private let offsets: [Float]

    // Reduced dense kernel.
    /// The K positions (`64 · block + k`) nonzero in some neuron, ascending.
    public let reducedPositions: [UInt16]
    /// `outputs × (K + 1)`, row-major.
    private let reduced: [Float]

    /// A layer over `spectral` with `bias` (`spectral.rows` entries).
    public init(spectral s: SpectralTensor, bias: [Float], kernel: Kernel) {
        precondition(bias.count == s.rows, "DCTLinear: \(bias.count) biases for \(s.rows) neurons")
        outputs = s.rows
        self.kernel = kernel
        self.bias = bias
        dct = s.dct
        var steps = [Float](repeating: 0, count: s.rows), offsets = steps
        for j in 0..<s.rows {
            let m = s.mapping(j)
            // A constant tile decodes to `lo` everywhere: step 0 gives `lo · Σx`.
            steps[j] = m.isConstant ? 0 : m.step
            offsets[j] = m.lo + 128 * steps[j]
        }
        switch kernel {
        case .sparse:
            positions = s.positions
            values = s.values
            rowStart = s.rowStart
            tableRows = (0..<8).map { v in SIMD8<Float>((0..<8).map { u in Float(s.table[8 * v + u]) }) }
            // One mapping for the whole tensor: keep one step and one offset.
            self.steps = s.mappings.count == 1 ? [steps[0]] : steps
            self.offsets = s.mappings.count == 1 ? [offsets[0]] : offsets
            reducedPositions = []
            reduced = []
        case .reducedDense:
            positions = []
            values = []
            rowStart = []
            tableRows = []
            self.steps = []
            self.offsets = []
            var used = [Bool](repeating: false, count: s.positionCount)
            for p in s.positions { used[Int(p)] = true }
            let kept = (0..<s.positionCount).filter { used[$0] }
            var column = [Int](repeating: -1, count: s.positionCount)
            for (c, p) in kept.enumerated() { column[p] = c }
            let width = kept.count + 1
            var matrix = [Float](repeating: 0, count: s.rows * width)
            for j in 0..<s.rows {
                for e in Int(s.rowStart[j])..<Int(s.rowStart[j + 1]) {
                    let p = Int(s.positions[e])
                    matrix[j * width + column[p]] = steps[j] * (Float(s.table[p % 64]) * Float(s.values[e]))
                }
                matrix[j * width + kept.count] = offsets[j]
            }
            reducedPositions = kept.map { UInt16($0) }
            reduced = matrix
        }
    }

    /// K, the number of frequencies kept by the reduced dense kernel (0 for the sparse kernel).
    public var reducedWidth: Int { reducedPositions.count }

    /// Stored nonzero coefficients (sparse kernel), or `outputs · K` (reduced dense).
    public var storedCoefficients: Int {
        kernel == .sparse ? values.count : outputs * reducedWidth
    }

    /// Bytes of the weight arrays this layer holds (biases included).
    public var residentBytes: Int {
        var total = bias.count * 4
        switch kernel {
        case .sparse:
            total += positions.count * 2 + values.count * 2 + rowStart.count * 4 + tableRows.count * 32
                + steps.count * 4 + offsets.count * 4
        case .reducedDense:
            total += reduced.count * 4 + reducedPositions.count * 2
        }
        return total
    }

    /// Multiply–adds per sample: the input's block DCT plus the kernel's products
    /// (sparse: one per stored coefficient plus the Q weighting and the affine term; reduced: `outputs · (K + 1)` plus
    /// the gather, counted as nothing).
    public var multiplyAddsPerSample: Int {
        switch kernel {
        case .sparse: return dct.multiplyAdds + 64 * dct.blockCount + values.count + 2 * outputs
        case .reducedDense: return dct.multiplyAdds + outputs * (reducedWidth + 1)
        }
    }

    /// `y = W x + b` for `batch` samples: `x` is `batch × inputs`, `y` is `batch × outputs`, row-major.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>) {
        guard batch > 0 else { return }
        switch kernel {
        case .sparse: forwardSparse(x, batch: batch, into: y)
        case .reducedDense: forwardReduced(x, batch: batch, into: y)
        }
    }

    /// The array version of `forward`.
    public func forward(_ x: [Float], batch: Int) -> [Float] {
        precondition(x.count == batch * inputs, "DCTLinear: \(x.count) inputs for a batch of \(batch) × \(inputs)")
        var y = [Float](repeating: 0, count: batch * outputs)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in forward(xp.baseAddress!, batch: batch, into: yp.baseAddress!) }
        }
        return y
    }

    private func forwardSparse(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>) {
        let n = outputs, inSize = inputs
        let perTensor = steps.count == 1
        withUnsafeTemporaryAllocation(of: Float.self, capacity: dct.coefficientCount) { xq in
            let xq = xq.baseAddress!
            tableRows.withUnsafeBufferPointer { q in
                positions.withUnsafeBufferPointer { pos in
                    values.withUnsafeBufferPointer { val in
                        rowStart.withUnsafeBufferPointer { start in
                            bias.withUnsafeBufferPointer { b in
                                steps.withUnsafeBufferPointer { st in
                                    offsets.withUnsafeBufferPointer { off in
                                        for r in 0..<batch {
                                            // XQ = Q ⊙ DCT(x), and Σx.
                                            let sum = dct.transform(x + r * inSize, into: xq, weights: q.baseAddress!)
                                            let out = y + r * n
                                            var e = Int(start[0])
                                            for j in 0..<n {
                                                let end = Int(start[j + 1])
                                                var a0: Float = 0, a1: Float = 0, a2: Float = 0, a3: Float = 0
                                                while e + 4 <= end {
                                                    a0 += Float(val[e]) * xq[Int(pos[e])]
                                                    a1 += Float(val[e + 1]) * xq[Int(pos[e + 1])]
                                                    a2 += Float(val[e + 2]) * xq[Int(pos[e + 2])]
                                                    a3 += Float(val[e + 3]) * xq[Int(pos[e + 3])]
                                                    e += 4
                                                }
                                                while e < end {
                                                    a0 += Float(val[e]) * xq[Int(pos[e])]
                                                    e += 1
                                                }
                                                let i = perTensor ? 0 : j
                                                out[j] = b[j] + off[i] * sum + st[i] * ((a0 + a1) + (a2 + a3))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Samples per gathered chunk of the reduced kernel (keeps the gathered matrix in cache-friendly size).
    static let reducedChunk = 1024

    private func forwardReduced(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>) {
        let n = outputs, inSize = inputs, k = reducedWidth, width = k + 1
        let chunk = min(batch, Self.reducedChunk)
        let gathered = UnsafeMutablePointer<Float>.allocate(capacity: chunk * width)
        defer { gathered.deallocate() }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: dct.coefficientCount) { full in
            let full = full.baseAddress!
            reducedPositions.withUnsafeBufferPointer { pos in
                reduced.withUnsafeBufferPointer { w in
                    bias.withUnsafeBufferPointer { b in
                        var start = 0
                        while start < batch {
                            let m = min(chunk, batch - start)
                            for r in 0..<m {
                                let row = gathered + r * width
                                row[k] = dct.transform(x + (start + r) * inSize, into: full)
                                for c in 0..<k { row[c] = full[Int(pos[c])] }
                                (y + (start + r) * n).update(from: b.baseAddress!, count: n)
                            }
                            if m == 1 {
                                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(width), 1, w.baseAddress!,
                                            Int32(width), gathered, 1, 1, y + start * n, 1)
                            } else {
                                BLAS.sgemm(.none, .transpose, m: m, n: n, k: width,
                                           a: gathered, lda: width, b: w.baseAddress!, ldb: width,
                                           beta: 1, c: y + start * n, ldc: n)
                            }
                            start += m
                        }
                    }
                }
            }
        }
    }
}
