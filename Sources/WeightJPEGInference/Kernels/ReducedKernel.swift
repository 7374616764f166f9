#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import WeightJPEGCore
import WeightJPEGCodec

/// Only the K frequencies nonzero in some neuron, as a `outputs × (K + 1)` float32 matrix
/// pre-multiplied by Q and `step_j` (the last column is `lo_j + 128 step_j`, against `Σx`). Per
/// chunk of samples the inputs' DCTs are gathered to K columns (plus `Σx`) and multiplied through
/// `cblas_sgemm` (`cblas_sgemv` for one sample). Best for large batches.
public struct ReducedKernel: DCTLayerKernel {
    public let dct: BlockDCT
    public let outputs: Int
    private let bias: PinnedArray<Float>
    /// The K positions (`64 · block + k`) nonzero in some neuron, ascending.
    private let kept: PinnedArray<UInt16>
    /// `outputs × (K + 1)`, row-major.
    private let matrix: PinnedArray<Float>

    public init(coefficients s: CoefficientTensor, bias: [Float]) {
        dct = s.dct
        outputs = s.rows
        let affine = NeuronAffine(s, bias: bias)
        self.bias = affine.bias
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
                matrix[j * width + column[p]] = affine.steps[j] * (Float(s.table[p % 64]) * Float(s.values[e]))
            }
            matrix[j * width + kept.count] = affine.offsets[j]
        }
        self.kept = PinnedArray(kept.map { UInt16($0) })
        self.matrix = PinnedArray(matrix)
    }

    /// K, the number of frequencies kept (nonzero in some neuron).
    public var keptFrequencies: Int { kept.count }

    /// `outputs · K` matrix entries (the `Σx` column not counted).
    public var storedCoefficients: Int { outputs * keptFrequencies }

    public var residentBytes: Int { bias.count * 4 + matrix.count * 4 + kept.count * 2 }

    /// The DCT and `outputs · (K + 1)` (the gather counted as nothing).
    public var multiplyAddsPerSample: Int { dct.multiplyAdds + outputs * (keptFrequencies + 1) }

    public func forward(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>) {
        guard batch > 0 else { return }
        let n = outputs, inSize = inputs, k = keptFrequencies, width = k + 1
        let chunk = min(batch, Self.sampleChunk)
        let (pos, w, b) = (kept.base, matrix.base, bias.base)
        let gathered = UnsafeMutablePointer<Float>.allocate(capacity: chunk * width)
        defer { gathered.deallocate() }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: dct.coefficientCount) { full in
            let full = full.baseAddress!
            var start = 0
            while start < batch {
                let m = min(chunk, batch - start)
                for r in 0..<m {
                    let row = gathered + r * width
                    row[k] = dct.transform(x + (start + r) * inSize, into: full)
                    for c in 0..<k { row[c] = full[Int(pos[c])] }
                    (y + (start + r) * n).update(from: b, count: n)
                }
                if m == 1 {
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(width), 1, w,
                                Int32(width), gathered, 1, 1, y + start * n, 1)
                } else {
                    BLAS.sgemm(.none, .transpose, m: m, n: n, k: width,
                               a: gathered, lda: width, b: w, ldb: width,
                               beta: 1, c: y + start * n, ldc: n)
                }
                start += m
            }
        }
    }
}
