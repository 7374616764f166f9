import CTrellis
import Foundation
import WeightJPEGCore
import WeightJPEGFormats
/// Coding 6, `entropy-trellis`: the error-targeted coder for noise-like tensors.
///
/// One uniform step `Δ` for the whole tensor, the integers chosen by a 4-state trellis (dependent
/// quantization, `EntropyTrellisQuantizer`) or by plain rounding, the step chosen by a model of the
/// error (a few passes over a sample, no search of real encodes) and verified, never exceeded, on
/// the decoded values. The
/// integers are coded with rANS under *per-class static tables*: each element's class is
/// `clamp(rowClass[r] + columnShift[c], 0, K − 1)`, a log-scale model of the local magnitude
/// (row scale × column scale, in steps of ½ or ¼ octave) chosen by the encoder among "none",
/// "rows", "columns" and "both" by estimated size. Rows are cut into chunks, each an independent
/// rANS stream, so one tensor can be decoded on several cores. Byte layout:
/// docs/FORMAT.md §5.5.
///
/// Thread safety: `encode` and `decode` are pure functions of their inputs (no shared state); any
/// number may run at once, and the chunks of one tensor may be decoded concurrently with
/// `decodeChunk` into disjoint parts of the output.
package enum EntropyTrellis {
    /// What `encode` returns.
    package struct Encoded: Sendable {
        /// Payload 0 is the model (class tables and row/column classes), then one per chunk.
        package let payloads: [[UInt8]]
        /// The coding's parameters (step, mode, rows per chunk).
        package let parameters: EntropyTrellisParameters
        /// `‖ΔW‖ / ‖W‖` of the decoded values (exactly what `decode` returns), 0 for an all-zero tensor.
        package let relativeError: Double
        /// The step.
        package let step: Float
        /// Which context model the encoder chose (for reports).
        package let model: String
        /// Total bytes (parameters and payloads).
        package var bytes: Int { EntropyTrellisParameters.byteCount + payloads.reduce(0) { $0 + $1.count } }
    }

    /// Elements per chunk the encoder aims at (whole rows, at least one row): small enough that a
    /// 256 × 256 matrix has two chunks, which the decoder runs in lockstep (`decodeChunkPair`:
    /// about 1.5× faster per core than one chunk alone), for 4 bytes of final state and the
    /// payload's framing per chunk (about 0.003 bits per weight).
    package static let chunkElements = 1 << 15
    /// The most classes a model may have.
    static let maxClasses = 64

    /// Encoder options, for measurements of each idea (the defaults are the codec).
    package struct Options: Sendable {
        /// Context models tried (the smallest estimate wins).
        package var models: [ContextModel] = ContextModel.allCases
        /// Classes per octave tried for the models that have classes.
        package var resolutions: [Int] = [2, 4]
        /// Elements per chunk.
        package var chunkElements = EntropyTrellis.chunkElements
        /// Trellis-coded (dependent) quantization with 4 states instead of plain rounding.
        package var dependentQuantization = true
        /// The trellis's rate weight λ (squared steps per bit).
        package var lambda: Float = 0.2
        package init() {}
    }

    /// The context models the encoder may choose from.
    package enum ContextModel: String, Sendable, CaseIterable {
        /// One table for the whole tensor (order 0).
        case none
        /// A class per row (its RMS).
        case rows
        /// A class shift per column.
        case columns
        /// Row class plus column shift.
        case both
    }


    // MARK: Encoding

    /// Codes `values` (`rows × columns`, row-major) with relative RMS error at most
    /// `maxRelativeError`, measured on the decoded values. Nil when no step meets the bound (a
    /// non-finite value, or a bound below what 17-bit magnitudes reach — the caller then stores
    /// the tensor another way).
    package static func encode(_ values: UnsafeBufferPointer<Float>, rows: Int, columns: Int, maxRelativeError: Double,
                              options: Options = Options()) -> Encoded? {
        precondition(rows >= 1 && columns >= 1 && values.count == rows * columns, "shape does not match the values")
        guard maxRelativeError >= 0, maxRelativeError.isFinite else { return nil }
        let n = values.count
        _ = n
        if options.dependentQuantization, let dq = TrellisQuantizer.encode(values, rows: rows, columns: columns, bound: maxRelativeError, options: options) {
            return dq
        }
        guard let (step, relative, q) = chooseStep(values, bound: maxRelativeError) else { return nil }
        return q.withUnsafeBufferPointer { qb in
            encodeQuantized(qb, rows: rows, columns: columns, step: step, relativeError: relative, options: options)
        }
    }

    /// `encode` for an array.
    package static func encode(_ values: [Float], rows: Int, columns: Int, maxRelativeError: Double,
                              options: Options = Options()) -> Encoded? {
        values.withUnsafeBufferPointer { encode($0, rows: rows, columns: columns, maxRelativeError: maxRelativeError, options: options) }
    }

    /// Quantizes with `step` into `q`; returns Σ(w − q·step)² (on the float32 decoded values).
    static func quantize(_ v: UnsafeBufferPointer<Float>, step: Float, into q: UnsafeMutableBufferPointer<Int32>) -> Double {
        let inv = 1 / step
        var total = 0.0
        let n = v.count
        var i = 0
        while i < n {
            let w = v[i]
            let r = rounded(w * inv)
            q[i] = Int32(r)
            let d = Double(w - r * step)   // exact in Float (Sterbenz) except when clamped
            total += d * d
            i += 1
        }
        return total
    }

    /// `quantize`'s indices without its error (no chain of additions between elements).
    static func quantizeIndices(_ v: UnsafeBufferPointer<Float>, step: Float, into q: UnsafeMutableBufferPointer<Int32>) {
        let inv = 1 / step
        // The integer from the bits of the shifted sum (1.5·2²³ + k has the bits 0x4B40_0000 + k for
        // |k| < 2²²): the same as Int32(rounded(·)), with no range check, so the loop vectorizes.
        let limit = Float(TrellisRANS.maxMagnitude)
        for i in 0..<v.count {
            let shifted = min(max(v[i] * inv, -limit), limit) + 12_582_912
            q[i] = Int32(bitPattern: shifted.bitPattern &- 0x4B40_0000)
        }
    }

    /// `x` clamped to ±`TrellisRANS.maxMagnitude` and rounded to nearest even by the 1.5·2²³ trick
    /// (exact below 2²²; the clamp comes first).
    @inline(__always)
    private static func rounded(_ x: Float) -> Float {
        let limit = Float(TrellisRANS.maxMagnitude)
        return (min(max(x, -limit), limit) + 12_582_912) - 12_582_912
    }

    /// Exact squared error of `q` (Double accumulation), to confirm the final choice.
    static func exactSquaredError(_ v: UnsafeBufferPointer<Float>, _ q: UnsafeBufferPointer<Int32>, step: Float) -> Double {
        var e = 0.0
        for i in 0..<v.count {
            let d = Double(v[i]) - Double(Float(q[i]) * step)
            e += d * d
        }
        return e
    }

    /// The largest step found (closed form, then at most a few verifying passes) whose decoded
    /// error is within `bound`, its relative error and its integers. Nil for non-finite input or
    /// when no step passes.
    static func chooseStep(_ v: UnsafeBufferPointer<Float>, bound: Double) -> (step: Float, relative: Double, q: [Int32])? {
        var norm = 0.0, maxAbs: Float = 0
        for w in v {
            guard w.isFinite else { return nil }
            norm += Double(w) * Double(w)
            maxAbs = max(maxAbs, abs(w))
        }
        if norm == 0 { return (1, 0, [Int32](repeating: 0, count: v.count)) }
        let target = bound * bound * norm
        let smallest = Double(maxAbs) / Double(TrellisRANS.maxMagnitude) * (1 + 1e-6)
        func clampStep(_ s: Double) -> Float {
            Float(min(max(s, smallest, Double(Float.leastNormalMagnitude)), Double(Float.greatestFiniteMagnitude) / 4))
        }
        var current = [Int32](repeating: 0, count: v.count)
        var kept: [Int32] = []
        var best: (step: Float, error: Double)? = nil
        // High-rate estimate: Δ²/12 per weight.
        var step = clampStep(bound * (norm * 12 / Double(v.count)).squareRoot())
        for _ in 0..<8 {
            let e = current.withUnsafeMutableBufferPointer { quantize(v, step: step, into: $0) }
            let passes = e <= target
            if passes, best == nil || step > best!.step {
                best = (step, e)
                swap(&current, &kept)
                if current.count != v.count { current = [Int32](repeating: 0, count: v.count) }
            }
            if passes && e >= target * 0.985 { break }   // close enough to the bound
            // D ∝ Δ² locally: aim just under the target.
            let ratio = e > 0 ? (target / e).squareRoot() : 4
            let next = clampStep(Double(step) * min(max(ratio, 0.25), 4) * (passes ? 0.997 : 0.995))
            if let b = best, next <= b.step { break }
            if next == step { break }
            step = next
        }
        guard let b = best else { return nil }
        let exact = kept.withUnsafeBufferPointer { exactSquaredError(v, $0, step: b.step) }
        guard exact <= target else { return nil }
        return (b.step, (exact / norm).squareRoot(), kept)
    }

    /// Codes already-quantized integers (|q| ≤ 2¹⁷ − 1).
    static func encodeQuantized(_ q: UnsafeBufferPointer<Int32>, rows: Int, columns: Int, step: Float, relativeError: Double,
                                options: Options) -> Encoded {
        let n = q.count
        // Magnitude tokens, once.
        var tokens = [UInt8](repeating: 0, count: n)
        tokens.withUnsafeMutableBufferPointer { t in
            for i in 0..<n { t[i] = UInt8(TrellisRANS.token(UInt32(q[i].magnitude)).token) }
        }
        let model = tokens.withUnsafeBufferPointer { chooseModel(q, tokens: $0, rows: rows, columns: columns, options: options) }
        return write(q, rows: rows, columns: columns, step: step, relativeError: relativeError, model: model, options: options)
    }

    /// Serializes a chosen model and the chunk streams of `q` (levels, or trellis indices when
    /// `model.quantizers == 2`).
    static func write(_ q: UnsafeBufferPointer<Int32>, rows: Int, columns: Int, step: Float, relativeError: Double,
                      model: ClassModel, options: Options) -> Encoded {
        let rowsPerChunk = max(1, min(rows, options.chunkElements / columns))
        var payloads: [[UInt8]] = [model.serialized(rows: rows, columns: columns)]
        let (entries, reciprocals) = encoderTables(model)
        // Chunks two at a time (in lockstep, as the decoder reads them); an odd last one alone.
        var r0 = 0
        while r0 < rows {
            let r1 = min(rows, r0 + rowsPerChunk)
            if r1 < rows {
                let r2 = min(rows, r1 + rowsPerChunk)
                let (a, b) = encodeChunkPair(q, rows: r0..<r1, r1..<r2, columns: columns, model: model, entries: entries, reciprocals: reciprocals)
                payloads += [a, b]
                r0 = r2
            } else {
                payloads.append(encodeChunk(q, rows: r0..<r1, columns: columns, model: model, entries: entries, reciprocals: reciprocals))
                r0 = r1
            }
        }
        let parameters = EntropyTrellisParameters(dependent: model.quantizers == 2, step: step, rowsPerChunk: rowsPerChunk)
        return Encoded(payloads: payloads, parameters: parameters, relativeError: relativeError, step: step, model: model.name)
    }

    /// The model's tables flattened for the C encoder: table t's entries `freq | start << 16` at
    /// t·256, and the frequencies' reciprocals (`ctrellis_reciprocal`: the encoder multiplies where
    /// it would divide); zero for symbols without a frequency.
    static func encoderTables(_ model: ClassModel) -> (entries: [UInt32], reciprocals: [UInt64]) {
        var entries = [UInt32](repeating: 0, count: 256 * model.tables.count)
        var reciprocals = [UInt64](repeating: 0, count: 256 * model.tables.count)
        for (t, table) in model.tables.enumerated() {
            guard let e = table?.encoderEntries() else { continue }
            for s in 0..<256 where e.freq[s] > 0 {
                entries[256 * t + s] = e.freq[s] | e.start[s] << 16
                reciprocals[256 * t + s] = ctrellis_reciprocal(e.freq[s])
            }
        }
        return (entries, reciprocals)
    }

    /// The rANS streams of two consecutive chunks of `q` (`second` no longer than `first`), coded in
    /// lockstep (`ctrellis_encode_chunk_pair`, C): the same bytes as `encodeChunk` of each.
    static func encodeChunkPair(_ q: UnsafeBufferPointer<Int32>, rows first: Range<Int>, _ second: Range<Int>, columns: Int,
                                model: ClassModel, entries packed: [UInt32], reciprocals: [UInt64]) -> ([UInt8], [UInt8]) {
        let countA = first.count * columns, countB = second.count * columns
        let words = UnsafeMutablePointer<UInt16>.allocate(capacity: 3 * (countA + countB))
        let states = UnsafeMutablePointer<UInt8>.allocate(capacity: countA + countB)
        let outA = UnsafeMutablePointer<UInt8>.allocate(capacity: 4 + 6 * countA)
        let outB = UnsafeMutablePointer<UInt8>.allocate(capacity: 4 + 6 * countB)
        defer { words.deallocate(); states.deallocate(); outA.deallocate(); outB.deallocate() }
        var lengths: [Int64] = [0, 0]
        packed.withUnsafeBufferPointer { pk in
            reciprocals.withUnsafeBufferPointer { rp in
                model.rowClass.withUnsafeBufferPointer { rc in
                    model.columnShift.withUnsafeBufferPointer { sh in
                        lengths.withUnsafeMutableBufferPointer { len in
                            ctrellis_encode_chunk_pair(q.baseAddress! + first.lowerBound * columns, Int64(first.count), rc.baseAddress! + first.lowerBound,
                                                       q.baseAddress! + second.lowerBound * columns, Int64(second.count), rc.baseAddress! + second.lowerBound,
                                                       Int64(columns), sh.baseAddress!, Int32(model.classes - 1), model.quantizers == 2 ? 1 : 0,
                                                       pk.baseAddress!, rp.baseAddress!, outA, outB, words, states, len.baseAddress!)
                        }
                    }
                }
            }
        }
        return (Array(UnsafeBufferPointer(start: outA, count: Int(lengths[0]))), Array(UnsafeBufferPointer(start: outB, count: Int(lengths[1]))))
    }

    /// The rANS stream of the chunk of `q` covering `rows` (`ctrellis_encode_chunk`, C); `entries`
    /// and `reciprocals` as `write` flattens them.
    static func encodeChunk(_ q: UnsafeBufferPointer<Int32>, rows: Range<Int>, columns: Int, model: ClassModel,
                            entries packed: [UInt32], reciprocals: [UInt64]) -> [UInt8] {
        let count = rows.count * columns
        // At most three 16-bit words per element (one per rANS step), plus the 4-byte state.
        let words = UnsafeMutablePointer<UInt16>.allocate(capacity: 3 * count)
        let states = UnsafeMutablePointer<UInt8>.allocate(capacity: count)
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: 4 + 6 * count)
        defer { words.deallocate(); states.deallocate(); out.deallocate() }
        let written = packed.withUnsafeBufferPointer { pk in
            reciprocals.withUnsafeBufferPointer { rp in
                model.rowClass.withUnsafeBufferPointer { rc in
                    model.columnShift.withUnsafeBufferPointer { sh in
                        ctrellis_encode_chunk(q.baseAddress! + rows.lowerBound * columns, Int64(rows.count), Int64(columns),
                                              rc.baseAddress! + rows.lowerBound, sh.baseAddress!, Int32(model.classes - 1),
                                              model.quantizers == 2 ? 1 : 0, pk.baseAddress!, rp.baseAddress!, out, words, states)
                    }
                }
            }
        }
        return Array(UnsafeBufferPointer(start: out, count: Int(written)))   // exactly as long as the stream
    }
}
