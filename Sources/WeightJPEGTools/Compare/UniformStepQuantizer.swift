import WeightJPEG
/// Uniform scalar quantization with one step per tensor (`stepOverRMS` × the tensor's RMS, in
/// float16) and no fixed bit depth: integers up to ±`maxLevel`, rANS-coded.
///
/// Layout per matrix: float16 step, largest |q| used (varint), rANS block of `q + largest`.
package enum UniformStepQuantizer {
    static let maxLevel = 2047

    static func encode(_ m: Matrix, stepOverRMS f: Double, into w: inout ByteWriter) {
        let rms = (m.storage.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(m.count, 1))).squareRoot()
        let s = HalfPrecision.float(fromHalfBits: HalfPrecision.halfBits(from: Float(f * rms)))
        let q = m.storage.map { s > 0 ? Int(min(max(($0 / s).rounded(), Float(-maxLevel)), Float(maxLevel))) : 0 }
        let largest = q.reduce(0) { max($0, abs($1)) }
        w.f16(s)
        w.varint(largest)
        w.lengthPrefixed(RANSCoder.encode(q.map { $0 + largest }, alphabetSize: 2 * largest + 1))
    }

    static func decode(_ r: inout CompactReader, rows: Int, columns: Int) throws(CompareError) -> Matrix {
        let s = try r.half()
        let largest = try r.varint(limit: maxLevel)
        var inner = CompactReader(try r.block(), what: r.what + " (uniform-step integers)")
        let symbols = try RANSCoder.decode(&inner)
        guard symbols.count == rows * columns, symbols.allSatisfy({ $0 <= 2 * largest }) else {
            throw r.corrupt("\(symbols.count) integers for a \(rows)×\(columns) matrix")
        }
        return Matrix(rows: rows, columns: columns, storage: symbols.map { Float($0 - largest) * s })
    }
}
