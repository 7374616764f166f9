import WeightJPEGCore
import WeightJPEGCodec

/// The coefficient lists as they come from the JPEG streams (Int16 values at UInt16 positions, in
/// compressed sparse rows). Per sample the input's DCT is computed once with the table Q folded in,
/// then each neuron is a short gather–multiply–add. Best for one sample at a time; holds only the
/// sparse lists.
public struct SparseKernel: DCTLayerKernel {
    public let dct: BlockDCT
    public let outputs: Int
    private let bias: PinnedArray<Float>
    /// Positions `64 · block + k`, neuron by neuron.
    private let positions: PinnedArray<UInt16>
    /// Quantized values, aligned with `positions`.
    private let values: PinnedArray<Int16>
    /// `outputs + 1` offsets into `positions` and `values`.
    private let rowStart: PinnedArray<Int32>
    /// Q as 8 SIMD8 rows, folded into the input's DCT.
    private let tableRows: PinnedArray<SIMD8<Float>>
    /// `step_j` and `lo_j + 128 step_j` per neuron, or one of each when the tensor has one mapping.
    private let steps: PinnedArray<Float>
    private let offsets: PinnedArray<Float>

    public init(coefficients s: CoefficientTensor, bias: [Float]) {
        dct = s.dct
        outputs = s.rows
        positions = PinnedArray(s.positions)
        values = PinnedArray(s.values)
        rowStart = PinnedArray(s.rowStart)
        tableRows = PinnedArray((0..<8).map { v in SIMD8<Float>((0..<8).map { u in Float(s.table[8 * v + u]) }) })
        let affine = NeuronAffine(s, bias: bias)
        self.bias = affine.bias
        steps = PinnedArray(s.mappings.count == 1 ? [affine.steps[0]] : affine.steps)
        offsets = PinnedArray(s.mappings.count == 1 ? [affine.offsets[0]] : affine.offsets)
    }

    /// How many nonzero quantized coefficients the layer keeps (the work per input, in multiply-adds).
    public var storedCoefficients: Int { values.count }

    public var residentBytes: Int {
        bias.count * 4 + positions.count * 2 + values.count * 2 + rowStart.count * 4 + tableRows.count * 32
            + steps.count * 4 + offsets.count * 4
    }

    /// The DCT, 64 per block for the Q weighting, one per stored coefficient, and 2 per neuron for
    /// the affine term.
    public var multiplyAddsPerSample: Int { dct.multiplyAdds + 64 * dct.blockCount + values.count + 2 * outputs }

    public func forward(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>) {
        guard batch > 0 else { return }
        let n = outputs, inSize = inputs, perTensor = steps.count == 1
        let (pos, val, start, b, st, off) = (positions.base, values.base, rowStart.base, bias.base, steps.base, offsets.base)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: dct.coefficientCount) { xq in
            let xq = xq.baseAddress!
            for r in 0..<batch {
                // XQ = Q ⊙ DCT(x), and Σx.
                let sum = dct.transform(x + r * inSize, into: xq, weights: tableRows.base)
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
