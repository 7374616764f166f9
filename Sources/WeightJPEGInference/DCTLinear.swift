#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import CKernels
import WeightJPEGCore
import WeightJPEGCodec

/// A fully connected layer `y = W x + b` whose weight rows are JPEG-coded neuron images, run on
/// their quantized DCT coefficients (see `SpectralTensor` for the identity used):
/// `y_j = b_j + (lo_j + 128 step_j) Σx + step_j Σ_k Q[k] q_j[k] X[k]`, `X = BlockDCT(x)`.
///
/// Three kernels:
/// - `sparse`: the coefficient lists as they come (Int16 values, UInt16 positions); per sample the
///   input's DCT is computed once with Q folded in, then each neuron is a short gather–multiply–add.
///   Best for one sample at a time; holds only the sparse lists.
/// - `reducedDense`: only the K frequencies nonzero in some neuron, as a `rows × (K+1)` Float
///   matrix pre-multiplied by Q and `step_j` (the last column is `lo_j + 128 step_j`, against `Σx`);
///   per batch the inputs' DCTs are gathered to K columns (plus `Σx`) and multiplied through
///   `cblas_sgemm`. Best for batches.
/// - `compact` ("reduced int8"): the same K frequencies, but the quantized coefficients `q_jk`
///   themselves, one byte each (`Int8`; a frequency whose `|q|` exceeds 127 in some neuron keeps its
///   row as `Int16`), with `Q_k` folded into the gathered input (`X'_k = Q_k X_k`, once per sample)
///   and `step_j`, `lo_j + 128 step_j` applied once per neuron at the end:
///   `y_j = step_j Σ_k X'_k q_jk + (lo_j + 128 step_j) Σx + b_j`. Stored in panels of 16 neurons,
///   frequency-major inside a panel (16 consecutive bytes per frequency), so one sample runs as
///   16-wide SIMD multiply–adds (C, AVX2+FMA when present) with the accumulators in registers. Batches convert one block of
///   neurons at a time to Float and multiply through `cblas_sgemm`.
public struct DCTLinear: Sendable {
    /// The kernel.
    public enum Kernel: String, Sendable, CaseIterable {
        case sparse
        case reducedDense = "reduced"
        case compact
    }

    /// Neurons per panel of the compact kernel.
    static let panel = 16

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

    // Compact kernel: `reducedPositions` holds the K8 one-byte frequencies first, then the K16
    // two-byte ones; `steps` and `offsets` are per neuron (original order). Neurons are grouped into
    // panels of 16 (`neuronOrder`, chosen so that a panel's neurons share their nonzero
    // frequencies); a panel stores only the frequency rows nonzero in one of its neurons.
    /// Frequencies (at the start of `reducedPositions`) whose coefficients fit in Int8.
    public let compactByteRows: Int
    /// `Q_k` for each of the K kept positions.
    private let compactTable: [Float]
    /// Panel slot `16 p + l` → neuron (`outputs` or more for the padding of the last panel).
    private let neuronOrder: [UInt16]
    /// `panels + 1` offsets into `index8` (rows of `q8`), and into `index16` (rows of `q16`).
    private let start8: [Int32]
    private let start16: [Int32]
    /// Per stored row, its frequency (index into the gathered `X'`, `0..<K`).
    private let index8: [UInt16]
    private let index16: [UInt16]
    /// 16 bytes per stored row: neuron lane `n` at `byteSlot(n)`, the quantized value `q` as Int8.
    private let q8: [Int8]
    /// 16 halfwords per stored row: lane `n` at `wordSlot(n)`, `q` as Int16.
    private let q16: [Int16]

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
            compactByteRows = 0
            compactTable = []
            (neuronOrder, start8, start16, index8, index16, q8, q16) = ([], [], [], [], [], [], [])
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
            compactByteRows = 0
            compactTable = []
            (neuronOrder, start8, start16, index8, index16, q8, q16) = ([], [], [], [], [], [], [])
        case .compact:
            positions = []
            values = []
            rowStart = []
            tableRows = []
            reduced = []
            self.steps = steps
            self.offsets = offsets
            // Largest |q| per position decides its row's width.
            var peak = [Int](repeating: -1, count: s.positionCount)
            for (p, v) in zip(s.positions, s.values) { peak[Int(p)] = max(peak[Int(p)], abs(Int(v))) }
            let bytes = (0..<s.positionCount).filter { peak[$0] >= 0 && peak[$0] <= 127 }
            let words = (0..<s.positionCount).filter { peak[$0] > 127 }
            let kept = bytes + words
            var column = [Int](repeating: -1, count: s.positionCount)
            for (c, p) in kept.enumerated() { column[p] = c }
            let (k8, lanes) = (bytes.count, Self.panel)
            let order = Self.panelOrder(s, column: column, width: kept.count)
            let panels = order.count / lanes
            var start8: [Int32] = [0], start16: [Int32] = [0], index8: [UInt16] = [], index16: [UInt16] = []
            var q8: [Int8] = [], q16: [Int16] = []
            var row = [Int16](repeating: 0, count: lanes * kept.count)  // one panel, lane-major
            for p in 0..<panels {
                for i in row.indices { row[i] = 0 }
                var used = [Bool](repeating: false, count: kept.count)
                for l in 0..<lanes where Int(order[p * lanes + l]) < s.rows {
                    let j = Int(order[p * lanes + l])
                    for e in Int(s.rowStart[j])..<Int(s.rowStart[j + 1]) {
                        let c = column[Int(s.positions[e])]
                        row[l * kept.count + c] = s.values[e]
                        used[c] = true
                    }
                }
                for c in 0..<kept.count where used[c] {
                    if c < k8 {
                        index8.append(UInt16(c))
                        var r = [Int8](repeating: 0, count: lanes)
                        for l in 0..<lanes { r[Self.byteSlot(l)] = Int8(row[l * kept.count + c]) }
                        q8 += r
                    } else {
                        index16.append(UInt16(c))
                        var r = [Int16](repeating: 0, count: lanes)
                        for l in 0..<lanes { r[Self.wordSlot(l)] = row[l * kept.count + c] }
                        q16 += r
                    }
                }
                start8.append(Int32(index8.count))
                start16.append(Int32(index16.count))
            }
            reducedPositions = kept.map { UInt16($0) }
            compactByteRows = k8
            compactTable = kept.map { Float(s.table[$0 % 64]) }
            neuronOrder = order
            (self.start8, self.start16, self.index8, self.index16) = (start8, start16, index8, index16)
            self.q8 = q8
            self.q16 = q16
        }
    }

    /// Neurons in panel order: greedily, each panel starts from the remaining neuron with the most
    /// nonzero frequencies and adds the neuron that adds the fewest new frequencies to the panel's
    /// union (bitsets over the K kept frequencies). Padded with `rows, rows + 1, …` to whole panels.
    static func panelOrder(_ s: SpectralTensor, column: [Int], width: Int) -> [UInt16] {
        let words = (width + 63) / 64, lanes = panel
        var bits = [UInt64](repeating: 0, count: s.rows * max(words, 1))
        for j in 0..<s.rows {
            for e in Int(s.rowStart[j])..<Int(s.rowStart[j + 1]) {
                let c = column[Int(s.positions[e])]
                bits[j * words + c / 64] |= 1 << UInt64(c % 64)
            }
        }
        func size(_ j: Int) -> Int { (0..<words).reduce(0) { $0 + bits[j * words + $1].nonzeroBitCount } }
        var left = Array(0..<s.rows), order: [UInt16] = []
        var union = [UInt64](repeating: 0, count: words)
        while !left.isEmpty {
            let seed = left.indices.max { size(left[$0]) < size(left[$1]) }!
            let first = left.remove(at: seed)
            order.append(UInt16(first))
            for w in 0..<words { union[w] = bits[first * words + w] }
            for _ in 1..<lanes where !left.isEmpty {
                var best = 0, bestNew = Int.max
                for (i, j) in left.enumerated() {
                    var new = 0
                    for w in 0..<words { new += (bits[j * words + w] & ~union[w]).nonzeroBitCount }
                    if new < bestNew { (best, bestNew) = (i, new) }
                }
                let j = left.remove(at: best)
                order.append(UInt16(j))
                for w in 0..<words { union[w] |= bits[j * words + w] }
            }
        }
        while order.count % lanes != 0 { order.append(UInt16(s.rows + order.count % lanes)) }
        return order
    }

    /// K, the number of frequencies kept by the reduced dense kernel (0 for the sparse kernel).
    public var reducedWidth: Int { reducedPositions.count }

    /// Stored nonzero coefficients (sparse kernel), `outputs · K` (reduced dense), or the stored
    /// Int8 and Int16 entries, panel padding included (compact).
    public var storedCoefficients: Int {
        switch kernel {
        case .sparse: values.count
        case .reducedDense: outputs * reducedWidth
        case .compact: q8.count + q16.count
        }
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
        case .compact:
            total += q8.count + q16.count * 2 + reducedPositions.count * 2 + compactTable.count * 4
                + steps.count * 4 + offsets.count * 4 + neuronOrder.count * 2 + (start8.count + start16.count) * 4
                + (index8.count + index16.count) * 2
        }
        return total
    }

    /// Multiply–adds per sample: the input's block DCT plus the kernel's products
    /// (sparse: one per stored coefficient plus the Q weighting and the affine term; reduced: `outputs · (K + 1)` plus
    /// the gather, counted as nothing; compact: K for `Q_k X_k`, 16 per stored panel row, and 2 per
    /// neuron for the step and the `Σx` term).
    public var multiplyAddsPerSample: Int {
        switch kernel {
        case .sparse: return dct.multiplyAdds + 64 * dct.blockCount + values.count + 2 * outputs
        case .reducedDense: return dct.multiplyAdds + outputs * (reducedWidth + 1)
        case .compact: return dct.multiplyAdds + reducedWidth + q8.count + q16.count + 2 * outputs
        }
    }

    /// `y = W x + b` for `batch` samples: `x` is `batch × inputs`, `y` is `batch × outputs`, row-major.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>) {
        guard batch > 0 else { return }
        switch kernel {
        case .sparse: forwardSparse(x, batch: batch, into: y)
        case .reducedDense: forwardReduced(x, batch: batch, into: y)
        case .compact:
            if batch < Self.compactBatchThreshold {
                for r in 0..<batch { forwardCompactOne(x + r * inputs, into: y + r * outputs) }
            } else {
                forwardCompactBatch(x, batch: batch, into: y)
            }
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

    /// Batches at least this large take the convert-and-`sgemm` path of the compact kernel.
    static let compactBatchThreshold = 8

    /// One sample, compact kernel: `X' = Q ⊙ DCT(x)` gathered to the K kept positions, then per panel
    /// of 16 neurons `acc += X'_k · Float(q[k][0..<16])` over the panel's stored rows. The transform,
    /// the gather and the panel loop are C (`CKernels`: an AVX2+FMA version chosen at run time,
    /// portable C otherwise); only the per-neuron affine step and the scatter stay here.
    private func forwardCompactOne(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let k = reducedWidth, lanes = Self.panel, n = outputs, panels = neuronOrder.count / lanes
        let coefficients = dct.coefficientCount
        withUnsafeTemporaryAllocation(of: Float.self, capacity: coefficients + k + lanes * panels) { scratch in
            let full = scratch.baseAddress!, xg = full + coefficients, acc = xg + k
            let sum = dct.basis.withUnsafeBytes { basis in
                ckernels_block_dct(x, Int32(dct.height), Int32(dct.width),
                                   basis.baseAddress!.assumingMemoryBound(to: Float.self), full)
            }
            reducedPositions.withUnsafeBufferPointer { pos in
                compactTable.withUnsafeBufferPointer { q in
                    ckernels_gather_scaled(full, pos.baseAddress, q.baseAddress, k, xg)
                }
            }
            q8.withUnsafeBufferPointer { w8 in
            q16.withUnsafeBufferPointer { w16 in
            index8.withUnsafeBufferPointer { i8 in
            index16.withUnsafeBufferPointer { i16 in
            start8.withUnsafeBufferPointer { s8 in
            start16.withUnsafeBufferPointer { s16 in
                ckernels_compact_panels(w8.baseAddress, i8.baseAddress, s8.baseAddress,
                                        w16.baseAddress, i16.baseAddress, s16.baseAddress, panels, xg, acc)
            }}}}}}
            neuronOrder.withUnsafeBufferPointer { order in
            steps.withUnsafeBufferPointer { st in
            offsets.withUnsafeBufferPointer { off in
            bias.withUnsafeBufferPointer { b in
                for slot in 0..<(lanes * panels) {
                    let j = Int(order[slot])
                    if j < n { y[j] = st[j] * acc[slot] + (off[j] * sum + b[j]) }
                }
            }}}}
        }
    }

    // Layout of a panel's stored row (16 neurons): 16 consecutive Int8 (or Int16) entries, entry `l`
    // belonging to the panel's neuron `l` (`neuronOrder[16 p + l]`), so that the C kernels widen a
    // row with `vpmovsxbd`/`vpmovsxwd` straight into lane order.

    /// Byte offset, inside a panel's 16-byte Int8 row, of neuron lane `n`.
    @inline(__always)
    static func byteSlot(_ n: Int) -> Int { n }
    /// Halfword index, inside a panel's 16-entry Int16 row, of neuron lane `n`.
    @inline(__always)
    static func wordSlot(_ n: Int) -> Int { n }

    /// The instruction-set level of the compact kernel's batch-1 C loops: "avx2+fma" or "generic".
    public static var kernelISA: String { ckernels_isa() >= Int32(CKERNELS_ISA_AVX2) ? "avx2+fma" : "generic" }

    /// The best level this CPU supports (0 generic, 1 AVX2+FMA).
    static var bestKernelLevel: Int { Int(ckernels_best_isa()) }

    /// Forces the level of the C loops (tests); `nil` restores the best. Returns the level in use.
    @discardableResult
    static func setKernelLevel(_ level: Int?) -> Int {
        Int(ckernels_set_isa(Int32(level ?? Int(CKERNELS_ISA_AUTO))))
    }

    /// Neurons converted to Float per `sgemm` call of the compact batch path.
    static let compactBlock = 128

    /// A batch, compact kernel: per chunk of samples the gathered `X'` rows (`chunk × K`), then per
    /// block of 128 neurons (8 panels) their coefficients expanded to Float (`128 × K`, transient) and
    /// one `sgemm`; finally `y_j = step_j · (…) + offset_j Σx + b_j`, scattered to neuron order.
    private func forwardCompactBatch(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>) {
        let n = outputs, inSize = inputs, k = reducedWidth, lanes = Self.panel
        let chunk = min(batch, Self.reducedChunk), block = Self.compactBlock, slots = neuronOrder.count
        let gathered = UnsafeMutablePointer<Float>.allocate(capacity: chunk * max(k, 1))
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: chunk)
        let weights = UnsafeMutablePointer<Float>.allocate(capacity: block * max(k, 1))
        let products = UnsafeMutablePointer<Float>.allocate(capacity: chunk * block)
        let full = UnsafeMutablePointer<Float>.allocate(capacity: dct.coefficientCount)
        defer { gathered.deallocate(); sums.deallocate(); weights.deallocate(); products.deallocate(); full.deallocate() }
        reducedPositions.withUnsafeBufferPointer { pos in
        compactTable.withUnsafeBufferPointer { q in
        q8.withUnsafeBufferPointer { w8 in
        q16.withUnsafeBufferPointer { w16 in
        index8.withUnsafeBufferPointer { i8 in
        index16.withUnsafeBufferPointer { i16 in
        start8.withUnsafeBufferPointer { s8 in
        start16.withUnsafeBufferPointer { s16 in
        neuronOrder.withUnsafeBufferPointer { order in
        steps.withUnsafeBufferPointer { st in
        offsets.withUnsafeBufferPointer { off in
        bias.withUnsafeBufferPointer { b in
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
                    // Slots slot0..<slot0+width as Float rows, `width × K`.
                    weights.update(repeating: 0, count: width * k)
                    for p in (slot0 / lanes)..<((slot0 + width) / lanes) {
                        let base = weights + (p * lanes - slot0) * k
                        for r in Int(s8[p])..<Int(s8[p + 1]) {
                            let c = Int(i8[r])
                            for l in 0..<lanes { base[l * k + c] = Float(w8[16 * r + Self.byteSlot(l)]) }
                        }
                        for r in Int(s16[p])..<Int(s16[p + 1]) {
                            let c = Int(i16[r])
                            for l in 0..<lanes { base[l * k + c] = Float(w16[16 * r + Self.wordSlot(l)]) }
                        }
                    }
                    if k > 0 {
                        BLAS.sgemm(.none, .transpose, m: m, n: width, k: k, a: gathered, lda: k, b: weights, ldb: k,
                                   beta: 0, c: products, ldc: width)
                    } else {
                        products.update(repeating: 0, count: m * width)
                    }
                    for r in 0..<m {
                        let out = y + (start + r) * n, prod = products + r * width, sum = sums[r]
                        for i in 0..<width {
                            let j = Int(order[slot0 + i])
                            if j < n { out[j] = st[j] * prod[i] + (off[j] * sum + b[j]) }
                        }
                    }
                    slot0 += width
                }
                start += m
            }
        }}}}}}}}}}}}
    }
}
