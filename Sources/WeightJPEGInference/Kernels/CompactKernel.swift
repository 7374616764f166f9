import CKernels
import WeightJPEGCore
import WeightJPEGCodec

/// The K frequencies nonzero in some neuron, holding the quantized coefficients `q_jk` themselves,
/// one byte each (`Int8`; a frequency whose `|q|` exceeds 127 in some neuron keeps its row as
/// `Int16`), with `Q_k` folded into the gathered input (`X'_k = Q_k X_k`, once per sample) and
/// `step_j`, `lo_j + 128 step_j` applied once per neuron at the end:
/// `y_j = step_j Σ_k X'_k q_jk + (lo_j + 128 step_j) Σx + b_j`. The least memory of the three kernels.
///
/// Stored in panels of 16 neurons (`CompactPanels`), frequency-major inside a panel (16 consecutive
/// entries per frequency), so one sample runs as 16-wide SIMD multiply–adds (C, AVX2+FMA when
/// present) with the accumulators in registers. Batches convert one block of neurons at a time to
/// float32 and multiply through `cblas_sgemm`.
public struct CompactKernel: DCTLayerKernel {
    public let dct: BlockDCT
    public let outputs: Int
    private let bias: PinnedArray<Float>
    /// `step_j` and `lo_j + 128 step_j` per neuron (original order).
    private let steps: PinnedArray<Float>
    private let offsets: PinnedArray<Float>
    /// The K kept positions (`64 · block + k`): the `int8Rows` one-byte frequencies first, then the
    /// two-byte ones.
    private let kept: PinnedArray<UInt16>
    /// `Q_k` for each kept position.
    private let table: PinnedArray<Float>
    /// The coefficients, panel by panel.
    private let panels: CompactPanels
    /// Frequencies (at the start of the kept positions) whose coefficients fit in Int8.
    public let int8Rows: Int

    /// Batches at least this large take the convert-and-`sgemm` path.
    static let batchThreshold = 8
    /// Neurons converted to float32 per `sgemm` call of the batch path.
    static let block = 128

    public init(coefficients s: CoefficientTensor, bias: [Float]) {
        dct = s.dct
        outputs = s.rows
        let affine = NeuronAffine(s, bias: bias)
        self.bias = affine.bias
        steps = PinnedArray(affine.steps)
        offsets = PinnedArray(affine.offsets)
        // Largest |q| per position decides its row's width.
        var peak = [Int](repeating: -1, count: s.positionCount)
        for (p, v) in zip(s.positions, s.values) { peak[Int(p)] = max(peak[Int(p)], abs(Int(v))) }
        let bytes = (0..<s.positionCount).filter { peak[$0] >= 0 && peak[$0] <= 127 }
        let words = (0..<s.positionCount).filter { peak[$0] > 127 }
        let kept = bytes + words
        self.kept = PinnedArray(kept.map { UInt16($0) })
        table = PinnedArray(kept.map { Float(s.table[$0 % 64]) })
        int8Rows = bytes.count
        panels = CompactPanels(s, kept: kept, int8Rows: bytes.count)
    }

    /// K, the number of frequencies kept (nonzero in some neuron).
    public var keptFrequencies: Int { kept.count }

    /// The stored Int8 and Int16 entries, panel padding included.
    public var storedCoefficients: Int { panels.q8.count + panels.q16.count }

    public var residentBytes: Int {
        bias.count * 4 + panels.q8.count + panels.q16.count * 2 + kept.count * 2 + table.count * 4
            + steps.count * 4 + offsets.count * 4 + panels.neuronOrder.count * 2
            + (panels.start8.count + panels.start16.count) * 4 + (panels.index8.count + panels.index16.count) * 2
    }

    /// The DCT, K for `Q_k X_k`, 16 per stored panel row, and 2 per neuron for the step and the `Σx` term.
    public var multiplyAddsPerSample: Int {
        dct.multiplyAdds + keptFrequencies + panels.q8.count + panels.q16.count + 2 * outputs
    }

    public func forward(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>) {
        guard batch > 0 else { return }
        if batch < Self.batchThreshold {
            for r in 0..<batch { forwardOne(x + r * inputs, into: y + r * outputs) }
        } else {
            forwardBatch(x, batch: batch, into: y)
        }
    }

    /// `y_j = step_j · product + offset_j Σx + b_j` for the panel slots `slots` whose products are
    /// `products[0..<slots.count]`, scattered to neuron order (padding slots skipped).
    @inline(__always)
    private func finish(_ products: UnsafePointer<Float>, slots: Range<Int>, sum: Float, into y: UnsafeMutablePointer<Float>) {
        let (order, st, off, b) = (panels.neuronOrder.base, steps.base, offsets.base, bias.base)
        for (i, slot) in slots.enumerated() {
            let j = Int(order[slot])
            if j < outputs { y[j] = st[j] * products[i] + (off[j] * sum + b[j]) }
        }
    }

    /// One sample: `X' = Q ⊙ DCT(x)` gathered to the K kept positions, then per panel of 16 neurons
    /// `acc += X'_k · Float(q[k][0..<16])` over the panel's stored rows. The transform, the gather
    /// and the panel loop are C (`CKernels`: an AVX2+FMA version chosen at run time, portable C
    /// otherwise); only the per-neuron affine step and the scatter stay here.
    private func forwardOne(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let k = keptFrequencies, p = panels, slots = p.neuronOrder.count
        let coefficients = dct.coefficientCount
        withUnsafeTemporaryAllocation(of: Float.self, capacity: coefficients + k + slots) { scratch in
            let full = scratch.baseAddress!, xg = full + coefficients, acc = xg + k
            let sum = dct.basis.withUnsafeBytes { basis in
                ckernels_block_dct(x, Int32(dct.height), Int32(dct.width),
                                   basis.baseAddress!.assumingMemoryBound(to: Float.self), full)
            }
            ckernels_gather_scaled(full, kept.base, table.base, k, xg)
            ckernels_compact_panels(p.q8.base, p.index8.base, p.start8.base, p.q16.base, p.index16.base, p.start16.base,
                                    p.panelCount, xg, acc)
            finish(acc, slots: 0..<slots, sum: sum, into: y)
        }
    }

    /// A batch: per chunk of samples the gathered `X'` rows (`chunk × K`), then per block of 128
    /// neurons (8 panels) their coefficients expanded to float32 (`128 × K`, transient) and one
    /// `sgemm`; finally the per-neuron affine step, scattered to neuron order.
    private func forwardBatch(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>) {
        let n = outputs, inSize = inputs, k = keptFrequencies
        let chunk = min(batch, Self.sampleChunk), block = Self.block, slots = panels.neuronOrder.count
        let gathered = UnsafeMutablePointer<Float>.allocate(capacity: chunk * max(k, 1))
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: chunk)
        let weights = UnsafeMutablePointer<Float>.allocate(capacity: block * max(k, 1))
        let products = UnsafeMutablePointer<Float>.allocate(capacity: chunk * block)
        let full = UnsafeMutablePointer<Float>.allocate(capacity: dct.coefficientCount)
        defer { gathered.deallocate(); sums.deallocate(); weights.deallocate(); products.deallocate(); full.deallocate() }
        let (pos, q) = (kept.base, table.base)
        var start = 0
        while start < batch {
            let m = min(chunk, batch - start)
            for r in 0..<m {
                let row = gathered + r * k
                sums[r] = dct.transform(x + (start + r) * inSize, into: full)
                for c in 0..<k { row[c] = q[c] * full[Int(pos[c])] }
            }
            var slot0 = 0
            while slot0 < slots {
                let width = min(block, slots - slot0)
                panels.expand(slots: slot0..<(slot0 + width), columns: k, into: weights)
                if k > 0 {
                    BLAS.sgemm(.none, .transpose, m: m, n: width, k: k, a: gathered, lda: k, b: weights, ldb: k,
                               beta: 0, c: products, ldc: width)
                } else {
                    products.update(repeating: 0, count: m * width)
                }
                for r in 0..<m {
                    finish(products + r * width, slots: slot0..<(slot0 + width), sum: sums[r], into: y + (start + r) * n)
                }
                slot0 += width
            }
            start += m
        }
    }

    /// The instruction-set level of the batch-1 C loops: "avx2+fma" or "generic".
    public static var isa: String { ckernels_isa() >= Int32(CKERNELS_ISA_AVX2) ? "avx2+fma" : "generic" }

    /// The best level this CPU supports (0 generic, 1 AVX2+FMA).
    static var bestLevel: Int { Int(ckernels_best_isa()) }

    /// Forces the level of the C loops (tests); `nil` restores the best. Returns the level in use.
    @discardableResult
    static func setLevel(_ level: Int?) -> Int {
        Int(ckernels_set_isa(Int32(level ?? Int(CKERNELS_ISA_AUTO))))
    }
}
