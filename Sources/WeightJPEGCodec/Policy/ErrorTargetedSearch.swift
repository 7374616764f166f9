import Foundation
import WeightJPEGCore
import WeightJPEGFormats

/// `compress --max-rel-error E`: for one float tensor, the cheapest coding whose relative RMS error
/// `‖ΔW‖ / ‖W‖`, measured by decoding the candidate and rounding it to the tensor's own dtype, is at
/// most `E`.
///
/// Candidate families, each searched for its cheapest passing setting:
/// - `exact` (always passes) and `float16` (F32 tensors whose values fit);
/// - `fixedRows(bits)`: per-row fixed-length codes, bisection on 2…16 bits — the floor the issue
///   measures against; being a candidate, the result is never larger than it;
/// - `entropyUniform(step)`: one uniform step, rANS-coded (skipped when coding 6 is smaller than
///   its predicted size by `entropyUniformSkipMargin`); the largest step meeting `E` is found by
///   bisection on the step (the error is computed in closed form while searching, then confirmed by
///   a real encode/decode, shrinking the step if the dtype rounding tips it over);
/// - `entropyTrellis` (coding 6, at least `entropyTrellisMinimumElements` weights): its own
///   model-based step choice for the bound, then one verifying decode (`entropyTrellis(…)`);
/// - JPEG (rank ≥ 2, at least `jpegMinimumElements` weights, layout fits), one family per table
///   kind (IJG quality, flat, spectrum^0.5 — see `RateSetting`) with per-tile min/max for the matrix
///   layout, bisection over the level 1…100 (each probe a real encode and decode). Layouts: the
///   policy's (default `rows:28x28` for 784 columns, else `matrix:64x64` over `shape[0] × rest`),
///   and for convolution kernels `out × in × kh × kw` also `rows:(in·kh)x(kw)` (each output
///   channel one image of its stacked kernels). A layout whose DCT coding gain over the AC
///   frequencies (`jpegWorthSearching`) is below `policy.jpegMinimumCodingGain` is not tried: on
///   noise-like weights the DCT has nothing to compact, and JPEG's 8-bit pixels and Huffman codes
///   then lose to the entropy coder. Nor is
///   one (float32 tensors) whose 8-bit pixel grid alone leaves more error than the bound
///   (`JPEGTensorCodec.pixelGridSquaredError`, a floor under every level and table).
/// The smallest passing candidate wins (payload plus parameter bytes).
public enum ErrorTargetedSearch {
    /// A coded tensor and its measured error.
    public struct Choice: Sendable {
        /// The coding tried, with its parameters.
        public let coding: TensorCoding
        /// The coded bytes, as the container stores them.
        public let payloads: [[UInt8]]
        /// Distortion of the decoded tensor, measured after rounding to the file's dtype.
        public let error: WeightDistortion
        /// Payload and parameter bytes (what differs between candidates).
        public var bytes: Int { payloads.reduce(0) { $0 + $1.count } + coding.parameterBytes.count }
    }

    /// The JPEG table kinds tried, each with its own level search; the cheapest passing one wins.
    public static let jpegKinds: [TableKind] = [.ijg, .flat, .defaultSpectrum]

    /// The cheapest coding of `values` (`shape`, from a `dtype` tensor) within relative error `bound`.
    /// `exactBytes` makes the tensor's raw payload, `exactByteCount` bytes long, returned as is when
    /// nothing lossy passes; it is called only then (a large tensor's copy is not made in vain).
    public static func cheapest(_ values: [Float], shape: [Int], dtype: SafetensorsDType,
                                exactBytes: () -> [UInt8], exactByteCount: Int,
                                bound: Double, policy: CompressionPolicy, codec: JPEGTensorCodec) throws(CodecError) -> Choice {
        var lossy: Choice? = nil
        func exact() -> Choice {
            Choice(coding: .exact, payloads: [exactBytes()], error: WeightDistortion(squaredError: 0, squaredNorm: 1, count: values.count))
        }
        /// The bytes of the smallest passing candidate so far (the exact payload when none is).
        var bestBytes: Int { lossy?.bytes ?? (exactByteCount + TensorCoding.exact.parameterBytes.count) }
        let norm = FloatScan.squaredNorm(values)
        guard values.count > 0 else { return exact() }
        // An all-zero tensor passes only with zero error (relative error 0/0 counts as 0 when ΔW = 0).
        let rows = shape.count >= 2 ? max(shape[0], 1) : 1
        // The squared error the bound allows (Σ(w − ŵ)² ≤ bound²·‖W‖²).
        let allowed = bound * bound * norm

        // Codes `values` with `coding` and measures the error of the decoded candidate; nil when a
        // reader would refuse it (`DecodeLimits`, checked by `TensorCoding.encode`) or it does not decode.
        func probe(_ coding: TensorCoding, _ table: [UInt16]?) throws(CodecError) -> Choice? {
            guard let coded = try coding.encode(values, shape: shape, dtype: dtype, table: table, jpeg: codec),
                  let decoded = try? ModelCodec.decodeValues(coding: coded.coding, payloads: coded.payloads, shape: shape, codec: codec)
            else { return nil }
            let err = WeightDistortion(original: values, decoded: WeightDistortion.rounded(decoded, to: dtype))
            return Choice(coding: coded.coding, payloads: coded.payloads, error: err)
        }
        func consider(_ c: Choice?) {
            if let c, c.error.within(bound), c.bytes < bestBytes { lossy = c }
        }

        var trellis: Choice? = nil
        if norm > 0, values.count >= entropyTrellisMinimumElements {
            trellis = entropyTrellis(values, shape: shape, dtype: dtype, bound: bound, codec: codec)
            consider(trellis)
        }
        // Coding 4's search (real encodes) is skipped when coding 6 already beats the size coding 4's
        // model predicts for this bound by more than `entropyUniformSkipMargin`.
        if norm > 0, !(trellis.map { Double($0.bytes) < (1 - entropyUniformSkipMargin) * predictedEntropyUniformBytes(values, norm: norm, bound: bound) } ?? false) {
            consider(entropyUniform(values, norm: norm, bound: bound, probe: probe))
        }
        // float16 takes 2 bytes per weight: tried only when that could be smaller than the best so far.
        if dtype == .F32, 2 * values.count < bestBytes, values.allSatisfy({ abs($0) <= 65_504 }) {
            consider(try probe(.float16, nil))
        }

        // Fixed-length per row (the floor): the fewest bits that pass (error falls as bits grow).
        // Only depths whose payload is smaller than the best so far can win: when the largest of
        // them fails, every smaller one fails too, so the floor is no smaller than `best`, and the
        // search (each probe a full encode and decode) is skipped.
        // For float32 tensors a depth whose error (computed without coding) is above the bound is
        // not coded at all: the decoded values are exactly those of the computation.
        func fixed(_ b: Int) -> Choice? {
            if dtype == .F32, UniformCodecs.fixedRowsSquaredError(values, rows: rows, bits: b, limit: allowed) > allowed { return nil }
            return (try? probe(.fixedRows(bits: b), nil)) ?? nil
        }
        var hi = 16
        while hi >= 2 && 4 * rows + (values.count * hi + 7) / 8 >= bestBytes { hi -= 1 }
        if hi >= 2, let top = fixed(hi), top.error.within(bound) {
            consider(Bisection.lowestPassing(in: 2..<hi) { bits in fixed(bits).flatMap { $0.error.within(bound) ? $0 : nil } } ?? top)
        }

        let count = values.count
        if shape.count >= 2, count >= policy.jpegMinimumElements {
            let columns = count / rows
            var layouts = [policy.layout ?? (columns == 784 ? .rows(height: 28, width: 28) : TileLayout.defaultMatrix)]
            // Convolution kernels (out × in × kh × kw): also each output channel as one image of its
            // in stacked kh × kw kernels, (in·kh) × kw, so a kernel's rows stay neighbors.
            if policy.layout == nil, shape.count == 4, shape[2] * shape[3] > 1, shape[1] * shape[2] <= 4096, shape[3] <= 4096 {
                layouts.append(.rows(height: shape[1] * shape[2], width: shape[3]))
            }
            for layout in layouts where layout.fits(rows: rows, columns: columns) {
                // Three filters, cheapest first (each only skips; their order changes no outcome).
                // Every 8th tile first when there are many: a layout far below the gate (under 98 % of it)
                // is skipped without transforming the whole tensor; the others are decided on every tile.
                if layout.tileCount(rows: rows, columns: columns) >= 64 {
                    let sample = QuantizationTables.coefficientRMS(values, rows: rows, columns: columns, layout: layout, tileStride: 8)
                    guard jpegWorthSearching(sample, minimumGain: 0.98 * policy.jpegMinimumCodingGain) else { continue }
                }
                // No JPEG level can pass when the pixel grid alone leaves more than the bound (float32:
                // other dtypes round the decoded values, which may bring them back onto the original).
                let floorLimit = allowed / 0.99
                if dtype == .F32, JPEGTensorCodec.pixelGridSquaredError(values, rows: rows, columns: columns, layout: layout,
                                                                        scale: scaleMode(layout, policy: policy), limit: floorLimit) > floorLimit { continue }
                let rms = QuantizationTables.coefficientRMS(values, rows: rows, columns: columns, layout: layout)
                guard jpegWorthSearching(rms, minimumGain: policy.jpegMinimumCodingGain) else { continue }
                try jpegCandidates(values, rows: rows, columns: columns, layout: layout, rms: rms, bound: bound, policy: policy,
                                   bestBytes: { bestBytes }, probe: probe, consider: consider)
            }
        }
        return lossy ?? exact()
    }

    /// The JPEG scale mode the search uses with `layout`: per tile for matrix layouts, else the policy's.
    static func scaleMode(_ layout: TileLayout, policy: CompressionPolicy) -> ScaleMode {
        if case .matrix = layout { return .tile }
        return policy.scale
    }

    /// The JPEG parameters and explicit table (nil for `ijg`, which uses the quality) of `setting`
    /// on `layout`, as every JPEG probe of the search codes them. `rms`: the layout's coefficient
    /// RMS values when known (the spectrum tables need them).
    static func jpegParameters(_ values: [Float], rows: Int, columns: Int, layout: TileLayout, setting: RateSetting,
                               rms: [Double]?, policy: CompressionPolicy) -> (JPEGTensorParameters, [UInt16]?) {
        let table = setting.table(values: values, rows: rows, columns: columns, layout: layout, rms: rms)
        let p = JPEGTensorParameters(layout: layout, scale: scaleMode(layout, policy: policy), pack: policy.pack,
                                     quality: table == nil ? setting.level : 0, optimizeHuffman: policy.optimizeHuffman,
                                     arithmetic: policy.arithmetic, progressive: policy.progressive)
        return (p, table)
    }

    /// `values` (`shape`, rank ≥ 2, viewed as `shape[0] × rest`) JPEG-coded at `rung`, as the
    /// search codes its JPEG probes; nil when the layout does not fit or a reader would refuse the
    /// result (`DecodeLimits`).
    public static func jpeg(_ values: [Float], shape: [Int], dtype: SafetensorsDType, rung: JPEGLadderRung,
                            policy: CompressionPolicy, codec: JPEGTensorCodec) throws(CodecError) -> (coding: TensorCoding, payloads: [[UInt8]])? {
        guard shape.count >= 2, shape[0] > 0, !values.isEmpty else { return nil }
        let rows = shape[0], columns = values.count / rows
        guard rung.layout.fits(rows: rows, columns: columns) else { return nil }
        let (p, table) = jpegParameters(values, rows: rows, columns: columns, layout: rung.layout, setting: rung.setting, rms: nil, policy: policy)
        return try TensorCoding.jpeg(p).encode(values, shape: shape, dtype: dtype, table: table, jpeg: codec)
    }

    /// For each table kind: the coarsest level (bisection over 1…100) whose JPEG passes, offered to `consider`.
    /// A kind's search stops early when a level that fails the bound already takes at least
    /// `bestBytes()` (the smallest passing candidate so far): every passing level is finer, so no
    /// smaller. It skips probes that cannot win on tensors that pass the gate but not the entropy
    /// coders (when the gate still counted DC, it took all-MiniLM-L6-v2 at 0.0375 from 12.8 to 8.6
    /// CPU seconds, the same bytes).
    static func jpegCandidates(_ values: [Float], rows: Int, columns: Int, layout: TileLayout, rms: [Double], bound: Double,
                               policy: CompressionPolicy, bestBytes: () -> Int,
                               probe: (TensorCoding, [UInt16]?) throws(CodecError) -> Choice?,
                               consider: (Choice?) -> Void) throws(CodecError) {
        for kind in jpegKinds {
            func atLevel(_ level: Int) throws(CodecError) -> Choice? {
                let (p, table) = jpegParameters(values, rows: rows, columns: columns, layout: layout,
                                                setting: RateSetting(kind: kind, level: level), rms: rms, policy: policy)
                return try probe(.jpeg(p), table)
            }
            // The finest level first: if it fails, no level of this kind can pass.
            guard let finest = try atLevel(100), finest.error.within(bound) else { continue }
            var hopeless = false   // a failing level already as large as the best: the remaining probes fail unmade
            let coarsest = try Bisection.lowestPassing(in: 1..<100) { (level: Int) throws(CodecError) -> Choice? in
                guard !hopeless, let c = try atLevel(level) else { return nil }
                if c.error.within(bound) { return c }
                hopeless = c.bytes >= bestBytes()
                return nil
            }
            consider(coarsest ?? finest)
        }
    }

    /// Whether a JPEG search can pay on a layout whose 64 DCT coefficients have RMS values `rms`:
    /// the coding gain over the 63 AC frequencies reaches `minimumGain`. The DC term is left out, as
    /// in `CompressionPolicy.noiseLikeBound`: it mostly measures where the tensor's mean falls in its
    /// min/max range. all-MiniLM-L6-v2's word embeddings (11.7 M weights) measure 22.7 with it and
    /// 1.003 without; with it, `compress --max-rel-error 0.0375` spent 10 of its 13 CPU seconds in
    /// JPEG probes that never won (1.2 s without them, the same bytes).
    static func jpegWorthSearching(_ rms: [Double], minimumGain: Double) -> Bool {
        codingGain(Array(rms.dropFirst())) >= minimumGain
    }

    /// The transform coding gain of the 8×8 DCT for coefficient RMS values `rms`: the arithmetic over
    /// the geometric mean of the 64 coefficient variances. At high rate an ideal coder of the DCT
    /// coefficients saves `½·log2(gain)` bits per weight over coding the weights themselves; white
    /// noise has gain 1 (the linear layers of all-MiniLM-L6-v2 measure 1.001–1.003).
    public static func codingGain(_ rms: [Double]) -> Double {
        let v = rms.map { max($0 * $0, 1e-30) }
        let am = v.reduce(0, +) / Double(v.count)
        let gm = exp(v.reduce(0) { $0 + log($1) } / Double(v.count))
        return am / gm
    }

    /// Tensors smaller than this are not tried with `entropyTrellis` (its model payload and
    /// parameters, about 40–200 bytes, would outweigh its gain).
    public static let entropyTrellisMinimumElements = 1024

    /// Coding 6 at the largest step its model predicts for `bound` (`EntropyTrellis.encode`, which
    /// verifies the float32 error itself), confirmed by one decode rounded to `dtype`; when that
    /// rounding tips the error over the bound, re-coded at most twice for a tighter bound.
    static func entropyTrellis(_ values: [Float], shape: [Int], dtype: SafetensorsDType, bound: Double,
                               codec: JPEGTensorCodec) -> Choice? {
        let (rows, columns) = EntropyTrellisCodec.matrix(shape, count: values.count)
        guard rows >= 1, columns >= 1 else { return nil }
        var target = bound
        for _ in 0..<3 {
            guard let coded = EntropyTrellis.encode(values, rows: rows, columns: columns, maxRelativeError: target) else { return nil }
            let coding = TensorCoding.entropyTrellis(coded.parameters)
            let bytes = coded.payloads.reduce(0) { $0 + $1.count }
            guard DecodeLimits.refusal(coding: coding, shape: shape, payloadBytes: bytes) == nil,
                  let decoded = try? ModelCodec.decodeValues(coding: coding, payloads: coded.payloads, shape: shape, codec: codec)
            else { return nil }
            let error = WeightDistortion(original: values, decoded: WeightDistortion.rounded(decoded, to: dtype))
            if error.within(bound) { return Choice(coding: coding, payloads: coded.payloads, error: error) }
            target *= 0.9
        }
        return nil
    }

    /// How much smaller than coding 4's predicted size (`predictedEntropyUniformBytes`) coding 6 must
    /// be for the search to skip coding 4's own search: 1 %, above the prediction's overestimate
    /// (at most 0.63 % on all-MiniLM-L6-v2 and the synthetic checkpoint, docs/results/entropy-trellis.txt).
    public static let entropyUniformSkipMargin = 0.01

    /// Coding 4's size at `bound` as its model predicts it, in one pass without coding: the
    /// high-rate step `Δ = bound·‖W‖·√(12/N)` (squared error `Δ²/12` per weight), the order-0
    /// entropy of `round(w/Δ)`, plus about two bytes per frequency-table entry and the 4 parameter
    /// bytes. `.infinity` when the symbols would not fit coding 4's alphabet. The histogram is of
    /// every j-th value (about 16,384 of them): the entropy of a sample is biased low, by about
    /// 0.02 bits per weight at 9 bits, and misses rare symbols, so the prediction errs small and
    /// coding 4 is skipped less often, never more.
    static func predictedEntropyUniformBytes(_ values: [Float], norm: Double, bound: Double) -> Double {
        let step = Float(bound * (norm * 12 / Double(values.count)).squareRoot())
        guard step.isFinite, step > 0 else { return .infinity }
        // Four running extremes (min and max do not depend on order; ±0 compare equal).
        var lows: (Float, Float, Float, Float) = (0, 0, 0, 0), highs: (Float, Float, Float, Float) = (0, 0, 0, 0)
        values.withUnsafeBufferPointer { v in
            var i = 0
            while i + 4 <= v.count {
                lows.0 = min(lows.0, v[i]); lows.1 = min(lows.1, v[i + 1]); lows.2 = min(lows.2, v[i + 2]); lows.3 = min(lows.3, v[i + 3])
                highs.0 = max(highs.0, v[i]); highs.1 = max(highs.1, v[i + 1]); highs.2 = max(highs.2, v[i + 2]); highs.3 = max(highs.3, v[i + 3])
                i += 4
            }
            while i < v.count { lows.0 = min(lows.0, v[i]); highs.0 = max(highs.0, v[i]); i += 1 }
        }
        let lo = min(min(lows.0, lows.1), min(lows.2, lows.3)), hi = max(max(highs.0, highs.1), max(highs.2, highs.3))
        let low = (lo / step).rounded(), span = Double((hi / step).rounded() - low) + 1
        guard span.isFinite, span < Double(RANS.maxAlphabet) else { return .infinity }
        var counts = [Int](repeating: 0, count: Int(span))
        let inv = 1 / step
        let offset = Int(low)
        // `Float.rounded()` (ties away from zero) without a libm call: the float's half added in
        // Double is exact, and truncation then rounds as it does.
        let j = max(1, values.count / 16_384)
        var sampled = 0
        for i in stride(from: 0, to: values.count, by: j) {
            let y = Double(values[i] * inv)
            counts[Int(y + (y < 0 ? -0.5 : 0.5)) - offset] += 1
            sampled += 1
        }
        let n = Double(sampled)
        var bits = 0.0, used = 0
        for c in counts where c > 0 {
            bits -= Double(c) * log2(Double(c) / n)
            used += 1
        }
        return bits / 8 * Double(values.count) / n + 2 * Double(used) + 4
    }

    /// The entropy-coded uniform quantizer with the largest step that passes.
    static func entropyUniform(_ values: [Float], norm: Double, bound: Double,
                               probe: (TensorCoding, [UInt16]?) throws(CodecError) -> Choice?) -> Choice? {
        let target = bound * bound * norm
        func passes(_ step: Float) -> Bool { UniformCodecs.squaredError(values, step: step) <= target }
        // High-rate estimate Δ²/12 per weight, then bracket and bisect in log space.
        var good = Float(bound * (norm * 12 / Double(values.count)).squareRoot())
        var bad = good
        if passes(good) {
            bad = good * 2
            var k = 0
            while passes(bad) && k < 40 { good = bad; bad *= 2; k += 1 }
        } else {
            var k = 0
            while !passes(good) && k < 60 { bad = good; good /= 2; k += 1 }
            guard passes(good) else { return nil }
        }
        for _ in 0..<12 {
            let mid = (good * bad).squareRoot()
            if passes(mid) { good = mid } else { bad = mid }
        }
        // Confirm by decoding (the dtype rounding adds a little): shrink the step until it passes.
        var step = good
        for _ in 0..<8 {
            guard UniformCodecs.alphabetFits(values, step: step) else { return nil }
            let candidate: Choice?
            // A step the coder cannot represent (too many symbols, or fewer than two) ends the search.
            do { candidate = try probe(.entropyUniform(step: step), nil) } catch { return nil }
            if let c = candidate, c.error.within(bound) { return c }
            step *= 0.9
        }
        return nil
    }
}
