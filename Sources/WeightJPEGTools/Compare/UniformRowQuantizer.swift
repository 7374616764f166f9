import WeightJPEG
/// Symmetric uniform quantization per row: a float16 scale per row, integers −L…L.
package enum UniformRowQuantizer {
    /// Clip factors tried per row (the scale is `clip · max|w| / L`); the least squared error wins.
    static let clips: [Float] = [1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45, 0.4]

    /// Integers of `row` for scale `s` (already float16-representable), clamped to −L…L.
    static func quantize(_ row: ArraySlice<Float>, scale s: Float, levels L: Int) -> [Int] {
        guard s > 0 else { return [Int](repeating: 0, count: row.count) }
        let inv = 1 / s
        return row.map { SymmetricQuantizer.level($0, inverseScale: inv, maxLevel: L) }
    }

    /// The float16 scale of `row` with the least squared error among `clips` (only `1` when `search` is false).
    static func scale(_ row: ArraySlice<Float>, levels L: Int, search: Bool) -> Float {
        let m = SymmetricQuantizer.maxMagnitude(row)
        guard m > 0 else { return 0 }
        var best: Float = 0, bestError = Float.infinity
        for c in search ? clips : [1] {
            let s = HalfPrecision.float(fromHalfBits: HalfPrecision.halfBits(from: c * m / Float(L)))
            guard s > 0 else { continue }
            let q = quantize(row, scale: s, levels: L)
            var e: Float = 0
            for (v, i) in zip(row, q) { let d = v - Float(i) * s; e += d * d }
            if e < bestError { bestError = e; best = s }
        }
        return best
    }

    /// Scales (float16, one per row) then the rANS-coded integers of the whole matrix.
    static func encode(_ m: Matrix, bits: Int, into w: inout ByteWriter) {
        let L = (1 << (bits - 1)) - 1
        var symbols: [Int] = []
        symbols.reserveCapacity(m.count)
        for r in 0..<m.rows {
            let row = m.storage[(r * m.columns)..<((r + 1) * m.columns)]
            let s = scale(row, levels: L, search: true)
            w.f16(s)
            symbols += quantize(row, scale: s, levels: L).map { $0 + L }
        }
        w.lengthPrefixed(RANSCoder.encode(symbols, alphabetSize: 2 * L + 1))
    }

    static func decode(_ r: inout CompactReader, rows: Int, columns: Int, bits: Int) throws(CompareError) -> Matrix {
        let L = (1 << (bits - 1)) - 1
        let scales = try r.halves(rows)
        var inner = CompactReader(try r.block(), what: r.what + " (rANS integers)")
        let symbols = try RANSCoder.decode(&inner)
        guard symbols.count == rows * columns, symbols.allSatisfy({ $0 <= 2 * L }) else {
            throw r.corrupt("\(symbols.count) integers for a \(rows)×\(columns) matrix")
        }
        var out = Matrix(rows: rows, columns: columns)
        for i in 0..<(rows * columns) { out.storage[i] = Float(symbols[i] - L) * scales[i / columns] }
        return out
    }

    /// int8 per row, stored raw: scales (float16, `max|w| / 127`) then one signed byte per weight.
    static func encodeRaw(_ m: Matrix, into w: inout ByteWriter) {
        var body: [UInt8] = []
        body.reserveCapacity(m.count)
        for r in 0..<m.rows {
            let row = m.storage[(r * m.columns)..<((r + 1) * m.columns)]
            let s = scale(row, levels: 127, search: false)
            w.f16(s)
            body += quantize(row, scale: s, levels: 127).map { UInt8(bitPattern: Int8($0)) }
        }
        w.append(body)
    }

    static func decodeRaw(_ r: inout CompactReader, rows: Int, columns: Int) throws(CompareError) -> Matrix {
        let scales = try r.halves(rows)
        let body = try r.take(rows * columns)
        var out = Matrix(rows: rows, columns: columns)
        for i in 0..<(rows * columns) { out.storage[i] = Float(Int8(bitPattern: body[i])) * scales[i / columns] }
        return out
    }
}
