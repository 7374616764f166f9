import Foundation
import WeightJPEGCore

/// The two plain scalar quantizers the error-targeted mode weighs against JPEG:
///
/// - `entropy`: one uniform step `Δ` for the whole tensor, `q = round(w / Δ)`, the integers coded
///   with a static rANS coder whose frequency table is stored alongside. For a mean-squared-error
///   target one step for all rows is the right choice (at high rate a uniform quantizer adds
///   `Δ²/12` of squared error per weight whatever the row's range, and the entropy coder, not the
///   step, adapts to each row's spread), so no per-row scale is stored.
/// - `fixedRows`: symmetric per-row quantization with fixed-length `b`-bit codes, the plain floor a
///   JPEG coding must beat (`b = 8` is `int8PerRow` up to packing).
package enum UniformCodecs {
    // MARK: Entropy-coded uniform quantizer

    /// The integers `round(w / step)`; nil when one does not fit an Int32.
    static func quantize(_ values: [Float], step: Float) -> [Int32]? {
        let inv = 1 / Double(step)
        var out = [Int32](repeating: 0, count: values.count)
        for (i, v) in values.enumerated() {
            let q = (Double(v) * inv).rounded()
            guard abs(q) < 1e9 else { return nil }
            out[i] = Int32(q)
        }
        return out
    }

    /// Squared error of quantizing with `step` (without coding), for the step search.
    static func squaredError(_ values: [Float], step: Float) -> Double {
        let inv = 1 / step
        var e = 0.0
        for v in values {
            let d = Double(v - (v * inv).rounded() * step)
            e += d * d
        }
        return e
    }

    /// Whether `step` keeps the symbols within the rANS alphabet limit.
    static func alphabetFits(_ values: [Float], step: Float) -> Bool {
        var lo: Float = 0, hi: Float = 0
        for v in values { lo = min(lo, v); hi = max(hi, v) }
        return Double((hi - lo) / step) + 2 < Double(RANS.maxAlphabet)
    }

    /// Payloads `[frequency table, rANS stream]`; nil when the step makes too many symbols.
    package static func encodeEntropy(_ values: [Float], step: Float) -> [[UInt8]]? {
        guard step.isFinite, step > 0, let q = quantize(values, step: step), let table = RANS.Table(counting: q),
              table.frequencies.filter({ $0 > 0 }).count >= 2 else { return nil }
        return [table.serialized(), RANS.encode(q, table: table)]
    }

    static func decodeEntropy(_ payloads: [[UInt8]], count: Int, step: Float) throws(CodecError) -> [Float] {
        guard payloads.count == 2 else { throw CodecError(tensor: "", reason: "entropy-uniform tensor has \(payloads.count) payloads, expected 2") }
        guard step.isFinite, step > 0 else { throw CodecError(tensor: "", reason: "entropy-uniform step \(step) is not positive and finite") }
        guard let table = RANS.Table(bytes: payloads[0]), let top = table.frequencies.max(), Int(top) < RANS.total else {
            throw CodecError(tensor: "", reason: "malformed rANS frequency table (or fewer than two symbols)")
        }
        // Every symbol costs at least −log2(top / M) bits: a shape that asks for more symbols than the
        // stream can hold is rejected before the output is allocated.
        let minimumBits = -log2(Double(top) / Double(RANS.total))
        guard Double(count) * minimumBits <= Double(8 * payloads[1].count + 64) else {
            throw CodecError(tensor: "", reason: "a \(payloads[1].count)-byte rANS stream cannot hold \(count) symbols")
        }
        let q = try RANS.decode(payloads[1], count: count, table: table)
        return q.map { Float($0) * step }
    }

    // MARK: Fixed-length per-row quantizer

    /// The largest code magnitude at `bits`: `2^(bits−1) − 1`.
    static func levels(bits: Int) -> Int { (1 << (bits - 1)) - 1 }

    /// `rows` float32 scales `s = max|w| / (2^(b−1) − 1)`, then each `q = round(w / s) + 2^(b−1) − 1`
    /// in `b` bits, packed least significant bit first, row-major, the last byte zero-padded.
    package static func encodeFixedRows(_ values: [Float], rows: Int, bits: Int) -> [UInt8] {
        precondition((2...16).contains(bits) && rows > 0 && values.count % rows == 0)
        let columns = values.count / rows, m = levels(bits: bits)
        var w = ByteWriter()
        var scales: [Float] = []
        for r in 0..<rows {
            scales.append(SymmetricQuantizer.maxMagnitude(values[(r * columns)..<((r + 1) * columns)]) / Float(m))
            w.f32(scales[r])
        }
        var packed = [UInt8](repeating: 0, count: (values.count * bits + 7) / 8)
        var bit = 0
        for r in 0..<rows {
            let inv: Float = scales[r] > 0 ? 1 / scales[r] : 0
            for c in 0..<columns {
                let q = SymmetricQuantizer.level(values[r * columns + c], inverseScale: inv, maxLevel: m) + m
                for k in 0..<bits where (q >> k) & 1 != 0 { packed[(bit + k) >> 3] |= UInt8(1 << ((bit + k) & 7)) }
                bit += bits
            }
        }
        w.append(packed)
        return w.bytes
    }

    /// Σ(w − decoded)² of `encodeFixedRows(values, rows:, bits:)` followed by `decodeFixedRows`,
    /// computed in one pass without packing (the same float32 scales and levels): the search's
    /// cheap test of a depth before it codes it.
    /// Stops as soon as the sum exceeds `limit` (then returns a value above it, not the sum).
    static func fixedRowsSquaredError(_ values: [Float], rows: Int, bits: Int, limit: Double = .infinity) -> Double {
        let columns = values.count / rows, m = levels(bits: bits)
        var total = 0.0
        for r in 0..<rows where total <= limit {
            let row = values[(r * columns)..<((r + 1) * columns)]
            let scale = SymmetricQuantizer.maxMagnitude(row) / Float(m)
            let inv: Float = scale > 0 ? 1 / scale : 0
            for w in row {
                let d = Double(w) - Double(Float(SymmetricQuantizer.level(w, inverseScale: inv, maxLevel: m)) * scale)
                total += d * d
            }
        }
        return total
    }

    static func decodeFixedRows(_ bytes: [UInt8], rows: Int, count: Int, bits: Int) throws(CodecError) -> [Float] {
        let expected = 4 * rows + (count * bits + 7) / 8
        guard (2...16).contains(bits), rows > 0, count % rows == 0, bytes.count == expected else {
            throw CodecError(tensor: "", reason: "fixed-length payload has \(bytes.count) bytes, expected \(expected) (\(bits) bits, \(rows) rows)")
        }
        let columns = count / rows, m = levels(bits: bits)
        var reader = ByteReader(bytes)
        var scales: [Float] = []
        for _ in 0..<rows {
            let s = try! reader.f32()
            guard s.isFinite, s >= 0 else { throw CodecError(tensor: "", reason: "fixed-length row scale \(s) is negative or not finite") }
            scales.append(s)
        }
        var out = [Float](repeating: 0, count: count)
        var bit = 32 * rows
        for i in 0..<count {
            var q = 0
            for k in 0..<bits where (bytes[(bit + k) >> 3] >> ((bit + k) & 7)) & 1 != 0 { q |= 1 << k }
            bit += bits
            guard q <= 2 * m else { throw CodecError(tensor: "", reason: "fixed-length code \(q) exceeds \(2 * m) at element \(i)") }
            out[i] = Float(q - m) * scales[i / columns]
        }
        return out
    }
}
