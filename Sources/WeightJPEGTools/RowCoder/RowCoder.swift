// An experiment toward issue 14, not part of the product library: a row coder for noise-like tensors
// measured against coding 4 (docs/results/row-coder.txt, scripts/measure-row-coder). It is kept whole
// (over 350 lines, with its own byte cursor) until it is reworked into coding 6 on the codec's
// ByteReader and TensorCodec; until then nothing in compress or decompress uses it.
import Foundation

/// A decode error of `RowCoder`: the bytes are corrupt, truncated, or do not fit the shape.
public struct RowCoderError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What is wrong.
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "row coder: \(reason)" }
}

/// The error-targeted coder for noise-like 2-D tensors (issue 14; meant to become coding 6).
///
/// One uniform step `Δ` for the whole tensor, `q = round(w / Δ)`, the step chosen in closed form
/// for the target relative RMS error and verified (never exceeded) on the decoded values. The
/// integers are coded with rANS under *per-class static tables*: each element's class is
/// `clamp(rowClass[r] + columnShift[c], 0, K − 1)`, a log-scale model of the local magnitude
/// (row scale × column scale, in steps of ½ or ¼ octave) chosen by the encoder among "none",
/// "rows", "columns" and "both" by estimated size. Rows are cut into chunks, each an independent
/// rANS stream, so one tensor can be decoded on several cores. Byte layout:
/// docs/results/row-coder-format.md.
///
/// Thread safety: `encode` and `decode` are pure functions of their inputs (no shared state); any
/// number may run at once, and the chunks of one tensor may be decoded concurrently with
/// `decodeChunk` into disjoint parts of the output.
public enum RowCoder {
    /// What `encode` returns.
    public struct Encoded: Sendable {
        /// Payload 0 is the model (class tables and row/column classes), then one per chunk.
        public let payloads: [[UInt8]]
        /// The fixed 9-byte parameter block (version, step, rows per chunk).
        public let parameters: [UInt8]
        /// `‖ΔW‖ / ‖W‖` of the decoded values (exactly what `decode` returns), 0 for an all-zero tensor.
        public let relativeError: Double
        /// The step.
        public let step: Float
        /// Which context model the encoder chose (for reports).
        public let model: String
        /// Total bytes (parameters and payloads).
        public var bytes: Int { parameters.count + payloads.reduce(0) { $0 + $1.count } }
    }

    /// Format version byte.
    static let version: UInt8 = 1
    /// Elements per chunk the encoder aims at (whole rows, at least one row).
    public static let chunkElements = 1 << 18
    /// The most classes a model may have.
    static let maxClasses = 64

    /// Encoder options, for measurements of each idea (the defaults are the codec).
    public struct Options: Sendable {
        /// Context models tried (the smallest estimate wins).
        public var models: [ContextModel] = ContextModel.allCases
        /// Classes per octave tried for the models that have classes.
        public var resolutions: [Int] = [2, 4]
        /// Elements per chunk.
        public var chunkElements = RowCoder.chunkElements
        /// Trellis-coded (dependent) quantisation with 4 states instead of plain rounding.
        public var dependentQuantization = true
        /// The trellis's rate weight λ (squared steps per bit).
        public var lambda: Float = 0.2
        public init() {}
    }

    /// The context models the encoder may choose from.
    public enum ContextModel: String, Sendable, CaseIterable {
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
    public static func encode(_ values: UnsafeBufferPointer<Float>, rows: Int, columns: Int, maxRelativeError: Double,
                              options: Options = Options()) -> Encoded? {
        precondition(rows >= 1 && columns >= 1 && values.count == rows * columns, "shape does not match the values")
        guard maxRelativeError >= 0, maxRelativeError.isFinite else { return nil }
        let n = values.count
        _ = n
        if options.dependentQuantization, let dq = RowCoderDQ.encode(values, rows: rows, columns: columns, bound: maxRelativeError, options: options) {
            return dq
        }
        guard let (step, relative, q) = chooseStep(values, bound: maxRelativeError) else { return nil }
        return q.withUnsafeBufferPointer { qb in
            encodeQuantised(qb, rows: rows, columns: columns, step: step, relativeError: relative, options: options)
        }
    }

    /// `encode` for an array.
    public static func encode(_ values: [Float], rows: Int, columns: Int, maxRelativeError: Double,
                              options: Options = Options()) -> Encoded? {
        values.withUnsafeBufferPointer { encode($0, rows: rows, columns: columns, maxRelativeError: maxRelativeError, options: options) }
    }

    /// Quantises with `step` into `q`; returns Σ(w − q·step)² (on the float32 decoded values).
    static func quantise(_ v: UnsafeBufferPointer<Float>, step: Float, into q: UnsafeMutableBufferPointer<Int32>) -> Double {
        let inv = 1 / step
        let limit = Float(RowCoderRANS.maxMagnitude)
        var total = 0.0
        let n = v.count
        var i = 0
        while i < n {
            let w = v[i]
            let r = min(max((w * inv).rounded(.toNearestOrEven), -limit), limit)
            q[i] = Int32(r)
            let d = Double(w - r * step)   // exact in Float (Sterbenz) except when clamped
            total += d * d
            i += 1
        }
        return total
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
        let smallest = Double(maxAbs) / Double(RowCoderRANS.maxMagnitude) * (1 + 1e-6)
        func clampStep(_ s: Double) -> Float {
            Float(min(max(s, smallest, Double(Float.leastNormalMagnitude)), Double(Float.greatestFiniteMagnitude) / 4))
        }
        var current = [Int32](repeating: 0, count: v.count)
        var kept: [Int32] = []
        var best: (step: Float, error: Double)? = nil
        // High-rate estimate: Δ²/12 per weight.
        var step = clampStep(bound * (norm * 12 / Double(v.count)).squareRoot())
        for _ in 0..<8 {
            let e = current.withUnsafeMutableBufferPointer { quantise(v, step: step, into: $0) }
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

    /// Codes already-quantised integers (|q| ≤ 2¹⁷ − 1).
    static func encodeQuantised(_ q: UnsafeBufferPointer<Int32>, rows: Int, columns: Int, step: Float, relativeError: Double,
                                options: Options) -> Encoded {
        let n = q.count
        // Magnitude tokens, once.
        var tokens = [UInt8](repeating: 0, count: n)
        tokens.withUnsafeMutableBufferPointer { t in
            for i in 0..<n { t[i] = UInt8(RowCoderRANS.token(UInt32(q[i].magnitude)).token) }
        }
        let model = tokens.withUnsafeBufferPointer { chooseModel(q, tokens: $0, rows: rows, columns: columns, options: options) }
        return write(q, rows: rows, columns: columns, step: step, relativeError: relativeError, model: model, options: options)
    }

    /// Serialises a chosen model and the chunk streams of `q` (levels, or trellis indices when
    /// `model.quantizers == 2`).
    static func write(_ q: UnsafeBufferPointer<Int32>, rows: Int, columns: Int, step: Float, relativeError: Double,
                      model: ClassModel, options: Options) -> Encoded {
        let rowsPerChunk = max(1, min(rows, options.chunkElements / columns))
        var payloads: [[UInt8]] = [model.serialized(rows: rows, columns: columns)]
        let enc = model.tables.map { $0?.encoderEntries() }
        var r0 = 0
        while r0 < rows {
            let r1 = min(rows, r0 + rowsPerChunk)
            payloads.append(encodeChunk(q, rows: r0..<r1, columns: columns, model: model, entries: enc))
            r0 = r1
        }
        var params: [UInt8] = [version, model.quantizers == 2 ? 1 : 0]
        for k in 0..<4 { params.append(UInt8((step.bitPattern >> (8 * UInt32(k))) & 0xFF)) }
        for k in 0..<4 { params.append(UInt8((UInt32(rowsPerChunk) >> (8 * UInt32(k))) & 0xFF)) }
        return Encoded(payloads: payloads, parameters: params, relativeError: relativeError, step: step, model: model.name)
    }

    static func encodeChunk(_ q: UnsafeBufferPointer<Int32>, rows: Range<Int>, columns: Int, model: ClassModel,
                            entries: [(freq: [UInt32], start: [UInt32])?]) -> [UInt8] {
        var words: [UInt16] = []
        words.reserveCapacity(rows.count * columns / 3 + 16)
        var x = RowCoderRANS.lowerBound
        let pb = RowCoderRANS.probBits
        // Flatten the tables: class k's entries at k·256.
        let k = model.tables.count
        var freq = [UInt32](repeating: 0, count: 256 * k), start = [UInt32](repeating: 0, count: 256 * k)
        for (i, e) in entries.enumerated() {
            guard let e else { continue }
            for s in 0..<256 { freq[256 * i + s] = e.freq[s]; start[256 * i + s] = e.start[s] }
        }
        @inline(__always) func put(_ f: UInt32, _ st: UInt32) {
            if x >= f << 20 { words.append(UInt16(truncatingIfNeeded: x)); x >>= 16 }
            x = ((x / f) << pb) + (x % f) + st
        }
        @inline(__always) func putBits(_ v: UInt32, _ bits: UInt32) {
            let sh = pb - bits
            let f: UInt32 = 1 << sh
            if x >= f << 20 { words.append(UInt16(truncatingIfNeeded: x)); x >>= 16 }
            x = ((x >> sh) << pb) + (x & (f - 1)) + (v << sh)
        }
        let kMax = model.classes - 1
        let nq = model.quantizers
        // Trellis states before each element (dependent quantisation), forwards from state 0.
        var states = [UInt8](repeating: 0, count: nq == 2 ? rows.count * columns : 0)
        if nq == 2 {
            var st: UInt32 = 0
            let base = rows.lowerBound * columns
            for i in 0..<states.count {
                states[i] = UInt8(st)
                st = RowCoderDQ.next(st, parity: UInt32(q[base + i].magnitude & 1))
            }
        }
        freq.withUnsafeBufferPointer { fr in
            start.withUnsafeBufferPointer { stt in
                for r in rows.reversed() {
                    let rc = Int(model.rowClass[r])
                    let base = r * columns
                    for c in stride(from: columns - 1, through: 0, by: -1) {
                        let v = q[base + c]
                        let (t, nb, extra) = RowCoderRANS.token(UInt32(v.magnitude))
                        if nb > 12 {
                            putBits(extra & 0xFFF, 12)
                            putBits(extra >> 12, nb - 12)
                        } else if nb > 0 {
                            putBits(extra, nb)
                        }
                        let s = RowCoderRANS.signedToken(t, negative: v < 0)
                        var cls = min(max(rc + Int(model.columnShift[c]), 0), kMax)
                        if nq == 2 { cls = 2 * cls + Int(states[(r - rows.lowerBound) * columns + c] >> 1) }
                        put(fr[256 * cls + s], stt[256 * cls + s])
                    }
                }
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(4 + 2 * words.count)
        for b in 0..<4 { out.append(UInt8((x >> (8 * UInt32(b))) & 0xFF)) }
        for w in words.reversed() { out.append(UInt8(w & 0xFF)); out.append(UInt8(w >> 8)) }
        return out
    }

    // MARK: Context model

    /// Row classes, column shifts and the class tables.
    struct ClassModel {
        var name: String
        var rowClass: [UInt8]       // rows entries, each < K
        var columnShift: [Int8]     // columns entries, |shift| < K
        var tables: [RowCoderRANS.Table?]   // K·Q entries (class-major); nil = class never used
        var rowBits: Int
        var columnBits: Int
        /// 1 (plain levels) or 2 (dependent quantisation: a table per class and quantiser).
        var quantizers = 1
        var classes: Int { tables.count / quantizers }

        func serialized(rows: Int, columns: Int) -> [UInt8] {
            var out: [UInt8] = [UInt8(classes), UInt8(rowBits), UInt8(columnBits)]
            for t in tables {
                if let t { t.serialize(into: &out) } else { out.append(0) }
            }
            var packer = BitPacker()
            if rowBits > 0 { for c in rowClass { packer.put(UInt32(c), bits: rowBits) } }
            if columnBits > 0 {
                for s in columnShift {
                    let z = s >= 0 ? 2 * UInt32(s) : 2 * UInt32(-Int32(s)) - 1
                    packer.put(z, bits: columnBits)
                }
            }
            out += packer.finish()
            return out
        }
    }

    static func bitsFor(_ maxValue: Int) -> Int { maxValue <= 0 ? 0 : Int.bitWidth - maxValue.leadingZeroBitCount }

    /// Builds each candidate model, estimates its size from its class histograms, keeps the smallest.
    static func chooseModel(_ q: UnsafeBufferPointer<Int32>, tokens: UnsafeBufferPointer<UInt8>, rows: Int, columns: Int,
                            options: Options, tableCopies: Int = 1) -> ClassModel {
        // Log2 RMS per row, and per column of the row-normalised values.
        var rowLog = [Double](repeating: 0, count: rows)
        var rowMS = [Double](repeating: 0, count: rows)
        var colMS = [Double](repeating: 0, count: columns)
        var colN = [Double](repeating: 0, count: columns)
        for r in 0..<rows {
            var s = 0.0
            for c in 0..<columns { let v = Double(q[r * columns + c]); s += v * v }
            rowMS[r] = s / Double(columns)
            rowLog[r] = 0.5 * log2(rowMS[r] + 0.25)
        }
        for r in 0..<rows where rowMS[r] > 0 {
            let inv = 1 / rowMS[r]
            for c in 0..<columns { let v = Double(q[r * columns + c]); colMS[c] += v * v * inv; colN[c] += 1 }
        }
        let colLog = (0..<columns).map { colN[$0] > 0 ? 0.5 * log2(colMS[$0] / colN[$0] + 1e-3) : 0 }

        var candidates: [ClassModel] = []
        for m in options.models {
            let resolutions = m == .none ? [1] : options.resolutions
            for res in resolutions {
                var rowClass = [UInt8](repeating: 0, count: rows)
                var shift = [Int8](repeating: 0, count: columns)
                var k = 1
                if m == .rows || m == .both {
                    let top = rowLog.max() ?? 0
                    for r in 0..<rows {
                        let v = Int(((rowLog[r] - top) * Double(res)).rounded()) + (maxClasses - 1)
                        rowClass[r] = UInt8(max(v, 0))
                    }
                    let lo = Int(rowClass.min() ?? 0)
                    for r in 0..<rows { rowClass[r] -= UInt8(lo) }
                    k = Int(rowClass.max() ?? 0) + 1
                }
                if m == .columns || m == .both {
                    var sh = colLog.map { Int(($0 * Double(res)).rounded()) }
                    let lo = sh.min() ?? 0
                    // Shifts ≥ 0 when there are no row classes; otherwise centred on 0.
                    if m == .columns { sh = sh.map { $0 - lo } }
                    let span = maxClasses - 1
                    for c in 0..<columns { shift[c] = Int8(min(max(sh[c], -span), span)) }
                    let hiShift = Int(shift.max() ?? 0)
                    k = min(maxClasses, k + max(hiShift, 0))
                    if m == .both {
                        // Negative shifts pull classes below 0: move row classes up so they stay usable.
                        let loShift = Int(shift.min() ?? 0)
                        if loShift < 0 {
                            let up = min(-loShift, maxClasses - k)
                            if up > 0 { for r in 0..<rows { rowClass[r] += UInt8(up) }; k += up }
                        }
                    }
                }
                if k == 1 && m != .none { continue }
                let name = m == .none ? "order0" : "\(m.rawValue)/\(res)"
                let rowBits = (m == .rows || m == .both) ? bitsFor(k - 1) : 0
                let maxZig = shift.reduce(0) { max($0, $1 >= 0 ? 2 * Int($1) : -2 * Int($1) - 1) }
                let columnBits = (m == .columns || m == .both) ? bitsFor(maxZig) : 0
                candidates.append(ClassModel(name: name, rowClass: rowClass, columnShift: shift, tables: [], rowBits: rowBits, columnBits: columnBits))
                _ = k
            }
        }
        if candidates.isEmpty {
            candidates.append(ClassModel(name: "order0", rowClass: [UInt8](repeating: 0, count: rows), columnShift: [Int8](repeating: 0, count: columns),
                                         tables: [], rowBits: 0, columnBits: 0))
        }
        var best: (ClassModel, Double)? = nil
        for var cand in candidates {
            let k = Int(cand.rowClass.max() ?? 0) + max(Int(cand.columnShift.max() ?? 0), 0) + 1
            let kk = min(maxClasses, max(k, 1))
            // Shifts beyond ±(K − 1) change no class (the sum is clamped): clamp them so the reader's check holds.
            for c in 0..<columns { cand.columnShift[c] = Int8(min(max(Int(cand.columnShift[c]), -(kk - 1)), kk - 1)) }
            if cand.columnBits > 0 {
                cand.columnBits = bitsFor(cand.columnShift.reduce(0) { max($0, $1 >= 0 ? 2 * Int($1) : -2 * Int($1) - 1) })
            }
            if cand.rowBits > 0 { cand.rowBits = bitsFor(kk - 1) }
            var hist = [Int](repeating: 0, count: kk * 128)
            let kMax = kk - 1
            hist.withUnsafeMutableBufferPointer { h in
                cand.rowClass.withUnsafeBufferPointer { rc in
                    cand.columnShift.withUnsafeBufferPointer { cs in
                        for r in 0..<rows {
                            let base = Int(rc[r])
                            let row = r * columns
                            if cand.columnBits == 0 {
                                let hb = base * 128
                                for c in 0..<columns { h[hb + Int(tokens[row + c])] += 1 }
                            } else {
                                for c in 0..<columns {
                                    let cls = min(max(base + Int(cs[c]), 0), kMax)
                                    h[cls * 128 + Int(tokens[row + c])] += 1
                                }
                            }
                        }
                    }
                }
            }
            var bits = Double(rows * cand.rowBits + columns * cand.columnBits)
            var tables: [RowCoderRANS.Table?] = []
            for cls in 0..<kk {
                let counts = Array(hist[(cls * 128)..<(cls * 128 + 128)])
                let table = RowCoderRANS.Table(counts: counts)
                tables.append(table)
                guard let table else { bits += 8 * Double(tableCopies); continue }
                bits += 8 * Double(table.byteCount * tableCopies)
                // Cost under the quantised table (signed symbols: token t ≥ 1 splits its count between signs).
                for t in 0..<table.g.count where counts[t] > 0 {
                    let p = Double(table.g[t]) / Double(RowCoderRANS.total)
                    bits += Double(counts[t]) * -log2(p)
                }
            }
            cand.tables = tables
            if best == nil || bits < best!.1 { best = (cand, bits) }
        }
        return best!.0
    }

    // MARK: Decoding

    /// Parsed parameters.
    struct Parameters {
        var step: Float
        var rowsPerChunk: Int
        var quantizers: Int
    }

    static func parseParameters(_ p: [UInt8]) throws(RowCoderError) -> Parameters {
        guard p.count == 10 else { throw RowCoderError("parameters have \(p.count) bytes, expected 10") }
        guard p[0] == version else { throw RowCoderError("unknown version \(p[0])") }
        guard p[1] <= 1 else { throw RowCoderError("unknown quantiser mode \(p[1])") }
        var bits: UInt32 = 0, rpc: UInt32 = 0
        for k in 0..<4 { bits |= UInt32(p[2 + k]) << (8 * UInt32(k)); rpc |= UInt32(p[6 + k]) << (8 * UInt32(k)) }
        let step = Float(bitPattern: bits)
        guard step.isFinite, step > 0 else { throw RowCoderError("step \(step) is not positive and finite") }
        guard rpc >= 1 else { throw RowCoderError("rows per chunk is 0") }
        return Parameters(step: step, rowsPerChunk: Int(rpc), quantizers: p[1] == 1 ? 2 : 1)
    }

    /// The number of chunk payloads (`payloads.count − 1`) a tensor of `rows` rows has.
    public static func chunkCount(parameters: [UInt8], rows: Int) throws(RowCoderError) -> Int {
        let p = try parseParameters(parameters)
        guard rows >= 1 else { throw RowCoderError("no rows") }
        return (rows - 1) / p.rowsPerChunk + 1
    }

    /// A decoder's prepared state: the parsed model and decode tables (scratch: 16 KiB per used
    /// class, at most 64 classes, so ≤ 1 MiB). Immutable once built; chunks may share it across threads.
    public final class Prepared: @unchecked Sendable {
        let step: Float
        let rows: Int, columns: Int, rowsPerChunk: Int
        let rowClass: [UInt8]
        let columnShift: [Int8]
        let classes: Int
        let quantizers: Int
        /// Per table (`classes × quantizers`, class-major): `M` slot → signed token bytes, and
        /// 256 `freq | start << 16` entries (unused classes stay zero and are never reached).
        let symbols: UnsafeMutablePointer<UInt8>
        let entries: UnsafeMutablePointer<UInt32>
        /// The number of chunk payloads expected.
        public let chunks: Int

        init(step: Float, rows: Int, columns: Int, rowsPerChunk: Int, rowClass: [UInt8], columnShift: [Int8], tables: [RowCoderRANS.Table?],
             quantizers: Int) {
            self.step = step; self.rows = rows; self.columns = columns; self.rowsPerChunk = rowsPerChunk
            self.rowClass = rowClass; self.columnShift = columnShift; self.classes = tables.count / quantizers
            self.quantizers = quantizers
            chunks = (rows - 1) / rowsPerChunk + 1
            let m = Int(RowCoderRANS.total)
            symbols = .allocate(capacity: tables.count * m)
            symbols.initialize(repeating: 0, count: tables.count * m)
            entries = .allocate(capacity: tables.count * 256)
            entries.initialize(repeating: 0, count: tables.count * 256)
            for (k, t) in tables.enumerated() { t?.fillDecoder(symbols: symbols + k * m, entries: entries + k * 256) }
        }
        deinit { symbols.deallocate(); entries.deallocate() }

        /// The rows chunk `index` covers.
        public func rowRange(chunk index: Int) -> Range<Int> {
            let r0 = index * rowsPerChunk
            return r0..<min(rows, r0 + rowsPerChunk)
        }
    }

    /// Parses the parameters and the model payload (payload 0) and builds the decode tables.
    /// Checks, before allocating anything of the tensor's size, that the model payload holds the
    /// row and column classes it claims.
    public static func prepare(parameters: [UInt8], model: [UInt8], rows: Int, columns: Int) throws(RowCoderError) -> Prepared {
        let p = try parseParameters(parameters)
        guard rows >= 1, columns >= 1, rows <= Int(Int32.max), columns <= Int(Int32.max) else { throw RowCoderError("shape \(rows)×\(columns) is not valid") }
        return try model.withUnsafeBufferPointer { (buf) throws(RowCoderError) -> Prepared in
            var r = ByteCursor(buf)
            guard let k8 = r.u8(), let rb8 = r.u8(), let cb8 = r.u8() else { throw RowCoderError("model payload is truncated") }
            let k = Int(k8), rowBits = Int(rb8), columnBits = Int(cb8)
            guard (1...maxClasses).contains(k) else { throw RowCoderError("\(k) classes (1…\(maxClasses) allowed)") }
            guard rowBits <= 6, columnBits <= 7 else { throw RowCoderError("row/column class widths \(rowBits)/\(columnBits) exceed 6/7 bits") }
            var tables: [RowCoderRANS.Table?] = []
            for i in 0..<(k * p.quantizers) {
                guard let t = RowCoderRANS.Table.parse(&r) else { throw RowCoderError("class table \(i) is malformed") }
                tables.append(t)
            }
            // Exact size of the packed classes, checked before the arrays are allocated.
            let (rowTotal, o1) = rows.multipliedReportingOverflow(by: rowBits)
            let (colTotal, o2) = columns.multipliedReportingOverflow(by: columnBits)
            guard !o1, !o2, (rowTotal + colTotal + 7) / 8 == r.remaining else {
                throw RowCoderError("model payload has \(r.remaining) bytes of classes, expected \((rowTotal + colTotal + 7) / 8)")
            }
            var unpacker = BitUnpacker(buf, offset: r.offset)
            var rowClass = [UInt8](repeating: 0, count: rows)
            if rowBits > 0 {
                for i in 0..<rows {
                    let v = unpacker.get(bits: rowBits)
                    guard v < UInt32(k) else { throw RowCoderError("row \(i) has class \(v) of \(k)") }
                    rowClass[i] = UInt8(v)
                }
            }
            var shift = [Int8](repeating: 0, count: columns)
            if columnBits > 0 {
                for i in 0..<columns {
                    let z = unpacker.get(bits: columnBits)
                    let s = z & 1 == 0 ? Int(z >> 1) : -Int((z + 1) >> 1)
                    guard abs(s) < k else { throw RowCoderError("column \(i) has shift \(s) with \(k) classes") }
                    shift[i] = Int8(s)
                }
            }
            guard unpacker.paddingIsZero() else { throw RowCoderError("model payload padding bits are not zero") }
            // Every class an element can reach must have a table.
            var rowSeen = [Bool](repeating: false, count: k), shiftSeen = [Bool](repeating: false, count: 2 * k)
            for c in rowClass { rowSeen[Int(c)] = true }
            for s in shift { shiftSeen[Int(s) + k] = true }
            for a in 0..<k where rowSeen[a] {
                for b in 0..<(2 * k) where shiftSeen[b] {
                    let cls = min(max(a + b - k, 0), k - 1)
                    for qz in 0..<p.quantizers {
                        guard tables[cls * p.quantizers + qz] != nil else { throw RowCoderError("class \(cls) is used but has no table") }
                    }
                }
            }
            return Prepared(step: p.step, rows: rows, columns: columns, rowsPerChunk: p.rowsPerChunk, rowClass: rowClass,
                            columnShift: shift, tables: tables, quantizers: p.quantizers)
        }
    }

    /// Decodes chunk `index` (payload `index + 1`) into the rows `prepared.rowRange(chunk:)` of
    /// `output` (the whole tensor's buffer, `rows × columns`). Work is bounded: the chunk is
    /// rejected before decoding if it claims more than 4,040 elements per byte, and each element
    /// takes at most three rANS steps.
    public static func decodeChunk(_ bytes: [UInt8], index: Int, prepared pr: Prepared,
                                   into output: UnsafeMutableBufferPointer<Float>) throws(RowCoderError) {
        guard output.count == pr.rows * pr.columns else { throw RowCoderError("output has \(output.count) elements, expected \(pr.rows * pr.columns)") }
        guard (0..<pr.chunks).contains(index) else { throw RowCoderError("chunk \(index) of \(pr.chunks)") }
        let range = pr.rowRange(chunk: index)
        let count = range.count * pr.columns
        guard bytes.count >= 4, bytes.count % 2 == 0 else { throw RowCoderError("chunk \(index) has \(bytes.count) bytes (even, ≥ 4 expected)") }
        let (cap, overflow) = bytes.count.multipliedReportingOverflow(by: RowCoderRANS.maxSymbolsPerByte)
        guard overflow || count <= cap else { throw RowCoderError("chunk \(index): \(count) elements cannot come from \(bytes.count) bytes") }
        let ok: Bool = bytes.withUnsafeBufferPointer { b in
            pr.rowClass.withUnsafeBufferPointer { rcs in
                pr.columnShift.withUnsafeBufferPointer { css in
                    pr.quantizers == 2
                        ? RowCoderDQ.decodeLoop(b, rows: range, columns: pr.columns, rowClass: rcs, shift: css, classes: pr.classes,
                                                symbols: pr.symbols, entries: pr.entries, step: pr.step, out: output.baseAddress!)
                        : decodeLoop(b, rows: range, columns: pr.columns, rowClass: rcs, shift: css, classes: pr.classes,
                                     symbols: pr.symbols, entries: pr.entries, step: pr.step, out: output.baseAddress!)
                }
            }
        }
        guard ok else { throw RowCoderError("chunk \(index) is corrupt (ends early, has bytes left, or ends in the wrong state)") }
    }

    /// The hot loop; false on corrupt input. Output for the chunk's rows may be partly written then.
    @inline(never)
    static func decodeLoop(_ b: UnsafeBufferPointer<UInt8>, rows: Range<Int>, columns: Int, rowClass: UnsafeBufferPointer<UInt8>,
                           shift: UnsafeBufferPointer<Int8>, classes: Int, symbols: UnsafeMutablePointer<UInt8>, entries: UnsafeMutablePointer<UInt32>,
                           step: Float, out: UnsafeMutablePointer<Float>) -> Bool {
        let p = b.baseAddress!
        let end = b.count
        var x = UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
        guard x >= RowCoderRANS.lowerBound else { return false }
        var pos = 4
        let mask: UInt32 = RowCoderRANS.total - 1
        let lower = RowCoderRANS.lowerBound
        let kMax = classes - 1
        let useShift = shift.contains { $0 != 0 }
        for r in rows {
            let rc = Int(rowClass[r])
            let o = out + r * columns
            for c in 0..<columns {
                let table = useShift ? min(max(rc + Int(shift[c]), 0), kMax) : rc
                let slot = x & mask
                let sym = symbols[table &<< 12 | Int(slot)]
                let e = entries[table &<< 8 | Int(sym)]
                x = (e & 0xFFFF) &* (x >> 12) &+ slot &- (e >> 16)
                if x < lower {
                    guard pos + 2 <= end else { return false }
                    x = (x << 16) | UInt32(p[pos]) | UInt32(p[pos + 1]) << 8
                    pos += 2
                }
                let s = UInt32(sym)
                if s == 0 { o[c] = 0; continue }
                let t = (s + 1) >> 1
                var m = t
                if t >= 32 {
                    guard let full = RowCoderRANS.magnitude(token: t, x: &x, p: p, pos: &pos, end: end) else { return false }
                    m = full
                }
                let v = Float(m) * step
                o[c] = s & 1 == 1 ? v : -v
            }
        }
        return pos == end && x == lower
    }

    /// Decodes every chunk (sequentially) into `output` (`rows × columns`, row-major).
    public static func decode(_ payloads: [[UInt8]], parameters: [UInt8], rows: Int, columns: Int,
                              into output: UnsafeMutableBufferPointer<Float>) throws(RowCoderError) {
        guard let model = payloads.first else { throw RowCoderError("no payloads") }
        let (n, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, rows >= 1, columns >= 1, output.count == n else { throw RowCoderError("output has \(output.count) elements for \(rows)×\(columns)") }
        let chunks = try chunkCount(parameters: parameters, rows: rows)
        guard payloads.count == chunks + 1 else { throw RowCoderError("\(payloads.count) payloads, expected \(chunks + 1)") }
        // Cheap size check of every chunk before the tables are built.
        let p = try parseParameters(parameters)
        for i in 0..<chunks {
            let rowsIn = min(rows, (i + 1) * p.rowsPerChunk) - i * p.rowsPerChunk
            let (cap, o) = payloads[i + 1].count.multipliedReportingOverflow(by: RowCoderRANS.maxSymbolsPerByte)
            guard o || rowsIn * columns <= cap else { throw RowCoderError("chunk \(i): \(rowsIn * columns) elements cannot come from \(payloads[i + 1].count) bytes") }
        }
        let prepared = try prepare(parameters: parameters, model: model, rows: rows, columns: columns)
        for i in 0..<chunks { try decodeChunk(payloads[i + 1], index: i, prepared: prepared, into: output) }
    }

    /// `decode` into a new array.
    public static func decode(_ payloads: [[UInt8]], parameters: [UInt8], rows: Int, columns: Int) throws(RowCoderError) -> [Float] {
        let (n, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, rows >= 1, columns >= 1 else { throw RowCoderError("shape \(rows)×\(columns) is not valid") }
        _ = try parseParameters(parameters)
        // Allocation bound: every chunk needs more than 1 byte per 4,040 elements.
        let bytes = payloads.dropFirst().reduce(0) { $0 + $1.count }
        guard n <= bytes * RowCoderRANS.maxSymbolsPerByte else { throw RowCoderError("\(n) elements cannot come from \(bytes) bytes") }
        var out = [Float](repeating: 0, count: n)
        try out.withUnsafeMutableBufferPointer { (o) throws(RowCoderError) in
            try decode(payloads, parameters: parameters, rows: rows, columns: columns, into: o)
        }
        return out
    }
}

/// Packs unsigned fields least significant bit first.
struct BitPacker {
    var bytes: [UInt8] = []
    var acc: UInt64 = 0
    var n = 0
    mutating func put(_ v: UInt32, bits: Int) {
        acc |= UInt64(v) << UInt64(n)
        n += bits
        while n >= 8 { bytes.append(UInt8(acc & 0xFF)); acc >>= 8; n -= 8 }
    }
    mutating func finish() -> [UInt8] {
        if n > 0 { bytes.append(UInt8(acc & 0xFF)) }
        return bytes
    }
}

/// Reads fields written by `BitPacker` (the caller has checked that they fit).
struct BitUnpacker {
    let bytes: UnsafeBufferPointer<UInt8>
    var bit: Int
    init(_ bytes: UnsafeBufferPointer<UInt8>, offset: Int) { self.bytes = bytes; bit = offset * 8 }
    mutating func get(bits: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<bits {
            let i = bit + k
            if i >> 3 < bytes.count, (bytes[i >> 3] >> UInt8(i & 7)) & 1 != 0 { v |= 1 << UInt32(k) }
        }
        bit += bits
        return v
    }
    /// Whether the bits after the last field, up to the end, are zero.
    func paddingIsZero() -> Bool {
        var i = bit
        while i < bytes.count * 8 {
            if (bytes[i >> 3] >> UInt8(i & 7)) & 1 != 0 { return false }
            i += 1
        }
        return true
    }
}
