import CTrellis
import Foundation

/// Dependent (trellis-coded) quantization for `EntropyTrellis`, as in VVC: two quantizers with step
/// `2Δ` — Q0 reconstructs index `k` as `2k·Δ`, Q1 as `(2k − sgn k)·Δ` — and a 4-state machine
/// driven by the parity of each index picks the quantizer of the next element (states 0, 1 use
/// Q0; 2, 3 use Q1; next state = `[[0,2],[2,0],[1,3],[3,1]][state][k & 1]`, state 0 at the start
/// of every chunk). The encoder chooses the indices with a Viterbi search minimising
/// `(w/Δ − r)² + λ·bits`; at high rate this recovers part of the 1.53 dB (0.25 bit) that any
/// scalar quantizer loses to the rate–distortion bound. Each class has one table per quantizer.
enum TrellisQuantizer {
    /// Next states packed 2 bits each, index `2·state + parity`: 0,2,2,0,1,3,3,1.
    static let packedTransitions: UInt32 = 0 | 2 << 2 | 2 << 4 | 0 << 6 | 1 << 8 | 3 << 10 | 3 << 12 | 1 << 14

    /// Whether the trellis pass runs its AVX2 version (x86-64 CPUs with AVX2, unless `forcePortable`).
    static var usesAVX2: Bool { ctrellis_uses_avx2() != 0 }

    /// Runs the portable C version of the pass even where AVX2 exists (tests compare the two). Both
    /// choose the same indices, so passes running meanwhile on other threads are unaffected.
    static func forcePortable(_ on: Bool) { ctrellis_set_portable(on ? 1 : 0) }

    @inline(__always)
    static func next(_ state: UInt32, parity: UInt32) -> UInt32 { (packedTransitions >> ((2 * state + parity) * 2)) & 3 }

    /// Trellis-quantizes `v` (`rows × columns`) with step `step`, the state restarting at every
    /// chunk of `rowsPerChunk` rows. `bits[t·128 + token]` is the rate of a magnitude token under
    /// table `t = 2·class + quantizer`. Writes the indices into `k`; returns Σ(w − decoded)² over
    /// the float32 decoded values and the indices' token counts per table (`t·128 + token`). The
    /// pass itself is C (`ctrellis_chunk_pair` and `ctrellis_chunk`: branch-free, AVX2 where the CPU has it, same indices either way).
    static func trellis(_ v: UnsafeBufferPointer<Float>, rows: Int, columns: Int, rowsPerChunk: Int, step: Float,
                        rowClass: [UInt8], shift: [Int8], classes: Int, bits: [Float], lambda: Float,
                        into k: UnsafeMutableBufferPointer<Int32>) -> (error: Double, counts: [Int]) {
        let maxElements = min(rows, 2 * rowsPerChunk) * columns   // a pair of chunks
        let scratchIndices = UnsafeMutablePointer<Int32>.allocate(capacity: 4 * maxElements)
        let scratchFlags = UnsafeMutablePointer<UInt8>.allocate(capacity: maxElements)
        defer { scratchIndices.deallocate(); scratchFlags.deallocate() }
        var histogram = [UInt32](repeating: 0, count: 2 * classes * 128)
        var total = 0.0
        bits.withUnsafeBufferPointer { b in
            rowClass.withUnsafeBufferPointer { rc in
                shift.withUnsafeBufferPointer { sh in
                    histogram.withUnsafeMutableBufferPointer { h in
                        // Chunks two at a time (their serial chains overlap), the last one alone when odd.
                        var r0 = 0
                        while r0 < rows {
                            let r1 = min(rows, r0 + rowsPerChunk)
                            if r1 < rows {
                                let r2 = min(rows, r1 + rowsPerChunk)
                                total = ctrellis_chunk_pair(v.baseAddress! + r0 * columns, Int64(r1 - r0), rc.baseAddress! + r0, k.baseAddress! + r0 * columns,
                                                            v.baseAddress! + r1 * columns, Int64(r2 - r1), rc.baseAddress! + r1, k.baseAddress! + r1 * columns,
                                                            Int64(columns), sh.baseAddress!, Int32(classes - 1), b.baseAddress!, lambda, step,
                                                            scratchIndices, scratchFlags, h.baseAddress!, total)
                                r0 = r2
                            } else {
                                total = ctrellis_chunk(v.baseAddress! + r0 * columns, Int64(r1 - r0), Int64(columns), rc.baseAddress! + r0, sh.baseAddress!,
                                                       Int32(classes - 1), b.baseAddress!, lambda, step, k.baseAddress! + r0 * columns,
                                                       scratchIndices, scratchFlags, h.baseAddress!, total)
                                r0 = r1
                            }
                        }
                    }
                }
            }
        }
        return (total, histogram.map { Int($0) })
    }

    /// Tables from counts (a reachable class whose quantizer saw nothing gets a minimal table),
    /// and the trellis's rate estimates per token (smoothed, see `smoothedBits`).
    static func tables(_ h: [Int], classes: Int) -> ([TrellisRANS.Table?], [Float]) {
        var tables: [TrellisRANS.Table?] = []
        var bits = [Float](repeating: 24, count: 2 * classes * 128)
        for cls in 0..<classes {
            let used = (0..<256).contains { h[cls * 256 + $0] > 0 }
            for qz in 0..<2 {
                let t = 2 * cls + qz
                guard used else { tables.append(nil); continue }
                let counts = Array(h[(t * 128)..<(t * 128 + 128)])
                let table = TrellisRANS.Table(counts: counts) ?? TrellisRANS.Table(counts: [1])!
                tables.append(table)
                smoothedBits(counts.map { Float($0) }, into: &bits, at: t * 128)
            }
        }
        return (tables, bits)
    }

    /// Rates for the trellis from token counts with half a count added to every token: a token
    /// unseen in the last pass must stay affordable, or the trellis clips large values, the error
    /// grows, the step shrinks and the next pass sees even fewer large tokens (measured: a 3×
    /// too small step). Includes the sign bit of non-zero tokens.
    static func smoothedBits(_ counts: [Float], into bits: inout [Float], at offset: Int) {
        let n = counts.reduce(0, +) + 0.5 * Float(counts.count)
        for t in 0..<counts.count { bits[offset + t] = -log2((counts[t] + 0.5) / n) + (t > 0 ? 1 : 0) }
    }

    /// The trellis-coded encoding, or nil (the caller then uses plain rounding) when the bound
    /// is not met within a few passes.
    static func encode(_ v: UnsafeBufferPointer<Float>, rows: Int, columns: Int, bound: Double,
                       options: EntropyTrellis.Options) -> EntropyTrellis.Encoded? {
        // Four sums (independent additions); a NaN or infinity makes the norm non-finite (and the
        // largest magnitude is then not used). The largest magnitude is taken on the bits: for
        // finite floats without their sign, a larger float has larger bits.
        var sums = (0.0, 0.0, 0.0, 0.0), largest: UInt32 = 0
        var i = 0
        while i + 4 <= v.count {
            let a = Double(v[i]), b = Double(v[i + 1]), c = Double(v[i + 2]), d = Double(v[i + 3])
            sums.0 += a * a; sums.1 += b * b; sums.2 += c * c; sums.3 += d * d
            largest = max(largest, v[i].bitPattern & 0x7FFF_FFFF, v[i + 1].bitPattern & 0x7FFF_FFFF,
                          v[i + 2].bitPattern & 0x7FFF_FFFF, v[i + 3].bitPattern & 0x7FFF_FFFF)
            i += 4
        }
        while i < v.count { sums.0 += Double(v[i]) * Double(v[i]); largest = max(largest, v[i].bitPattern & 0x7FFF_FFFF); i += 1 }
        let norm = (sums.0 + sums.1) + (sums.2 + sums.3)
        let maxAbs = Float(bitPattern: largest)
        guard norm.isFinite, norm > 0 else { return nil }
        let n = v.count
        let target = bound * bound * norm
        let rowsPerChunk = max(1, min(rows, options.chunkElements / columns))
        let smallest = Double(maxAbs) / Double(2 * Int(TrellisRANS.maxMagnitude) - 4) * (1 + 1e-6)
        func clampStep(_ s: Double) -> Float {
            Float(min(max(s, smallest, Double(Float.leastNormalMagnitude)), Double(Float.greatestFiniteMagnitude) / 8))
        }
        // High-rate start: the uniform quantizer's Δ (Δ²/12 per weight) times the ratio the trellis
        // settles at (measured: about 0.57 at λ = 0.2).
        var step = clampStep(bound * (norm * 12 / Double(n)).squareRoot() * 0.57)
        // Step search on a sample of rows (every j-th: about 65,536 elements, a quarter of a tensor
        // of 32,768…262,143 elements with at least 16 rows; the whole tensor when smaller): the
        // trellis error scales as Δ², so a few sample passes fix the step and the rates; then one
        // full pass (a second, shrunk, only when the full error exceeds the bound).
        var j = max(1, (n + 65_535) / 65_536)
        if n >= 32_768, rows >= 16 { j = max(j, 4) }
        let (model, startingBits) = startingModel(v, rows: rows, columns: columns, step: step, options: options, rowStride: j)
        var bits = startingBits
        let classes = model.classes
        var k = [Int32](repeating: 0, count: n)
        if j > 1 {
            let sampleRows = Array(stride(from: 0, to: rows, by: j))
            var sv = [Float](repeating: 0, count: sampleRows.count * columns)
            var sNorm = 0.0
            for (i, r) in sampleRows.enumerated() {
                for c in 0..<columns { let w = v[r * columns + c]; sv[i * columns + c] = w; sNorm += Double(w) * Double(w) }
            }
            let sClass = sampleRows.map { model.rowClass[$0] }
            var sk = [Int32](repeating: 0, count: sv.count)
            // The sample's share of the target by element count: at high rate the error per weight
            // is about the same in every row, while row norms (the other way to scale) vary a lot.
            let sTarget = target * Double(sv.count) / Double(n)
            if sNorm > 0 {
                for _ in 0..<3 {
                    let (e, h) = sv.withUnsafeBufferPointer { svb in
                        sk.withUnsafeMutableBufferPointer { kb in
                            trellis(svb, rows: sampleRows.count, columns: columns, rowsPerChunk: rowsPerChunk, step: step, rowClass: sClass,
                                    shift: model.columnShift, classes: classes, bits: bits, lambda: options.lambda, into: kb)
                        }
                    }
                    bits = tables(h, classes: classes).1
                    guard e > 0 else { break }
                    step = clampStep(Double(step) * min(max((sTarget / e).squareRoot(), 0.5), 2) * 0.998)
                }
            }
        }
        var best: (step: Float, error: Double, k: [Int32], counts: [Int])? = nil
        var failing = Float.infinity   // the smallest step seen to exceed the bound
        var attempt = 0
        while attempt < (j > 1 ? 4 : 6) {
            attempt += 1
            let (e, h) = k.withUnsafeMutableBufferPointer { kb in
                trellis(v, rows: rows, columns: columns, rowsPerChunk: rowsPerChunk, step: step, rowClass: model.rowClass,
                        shift: model.columnShift, classes: classes, bits: bits, lambda: options.lambda, into: kb)
            }
            if e <= target, best == nil || step > best!.step { best = (step, e, k, h) }
            // Sampled: the first passing full pass is kept. Small tensors: two passes at least
            // (the first one's rates are estimates), then stop when close to the bound.
            if let b = best, j > 1 || (attempt >= 2 && b.error >= target * 0.99) { break }
            bits = tables(h, classes: classes).1
            if e > target { failing = min(failing, step) }
            let ratio = e > 0 ? (target / e).squareRoot() : 2
            var nextStep = clampStep(Double(step) * min(max(ratio, 0.5), 2) * (e <= target ? 0.999 : 0.996))
            // Stay strictly between the best passing and the smallest failing step.
            let lo = best?.step ?? 0
            if nextStep >= failing || nextStep <= lo {
                nextStep = lo > 0 && failing.isFinite ? (lo * failing).squareRoot() : nextStep
            }
            if nextStep == step || nextStep >= failing || nextStep <= lo { break }
            step = nextStep
        }
        guard let b = best else { return nil }
        var final = model
        final.tables = tables(b.counts, classes: classes).0
        final.quantizers = 2
        // `trellis` measured the error on the values exactly as the decoder will produce them.
        let exact = b.error
        var opts = options
        opts.chunkElements = rowsPerChunk * columns
        return b.k.withUnsafeBufferPointer { kb in
            EntropyTrellis.write(kb, rows: rows, columns: columns, step: b.step, relativeError: (exact / norm).squareRoot(), model: final, options: opts)
        }
    }

    /// The context model chosen from plain rounding at `2·step` (the magnitudes of the trellis
    /// indices) and the trellis's first rate estimates (each class's plain-rounding table, for
    /// both quantizers); the candidates' sizes estimated on every `rowStride`-th row.
    static func startingModel(_ v: UnsafeBufferPointer<Float>, rows: Int, columns: Int, step: Float,
                              options: EntropyTrellis.Options, rowStride: Int = 1) -> (EntropyTrellis.ClassModel, [Float]) {
        let n = v.count
        var k = [Int32](repeating: 0, count: n)
        let model: EntropyTrellis.ClassModel = k.withUnsafeMutableBufferPointer { kb in
            EntropyTrellis.quantizeIndices(v, step: 2 * step, into: kb)
            // Tokens of the rows the size estimates read (every `rowStride`-th); the others stay 0.
            var tokens = [UInt8](repeating: 0, count: n)
            for r in stride(from: 0, to: rows, by: rowStride) {
                for i in (r * columns)..<((r + 1) * columns) { tokens[i] = UInt8(TrellisRANS.token(kb[i].magnitude).token) }
            }
            return tokens.withUnsafeBufferPointer { EntropyTrellis.chooseModel(UnsafeBufferPointer(kb), tokens: $0, rows: rows, columns: columns, options: options, tableCopies: 2, rowStride: rowStride) }
        }
        let classes = model.classes
        var bits = [Float](repeating: 24, count: 2 * classes * 128)
        for cls in 0..<classes {
            guard let t = model.tables[cls] else { continue }
            var g = [Float](repeating: 0, count: 128)
            for (tok, v) in t.g.enumerated() { g[tok] = Float(tok == 0 ? v : 2 * v) }
            smoothedBits(g, into: &bits, at: (2 * cls) * 128)
            smoothedBits(g, into: &bits, at: (2 * cls + 1) * 128)
        }
        return (model, bits)
    }
}
