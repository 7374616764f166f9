import WeightJPEG
/// Magnitude pruning with a compact index: the `sparsity` fraction of smallest-magnitude weights of
/// a matrix become 0; the survivors' positions are coded as gaps (row-major; a gap ≥ 255 is a run
/// of 255 symbols then the rest) with rANS, their values as uniform integers with rANS.
///
/// Layout per matrix: survivor count (varint), float16 scale, rANS block of gap symbols, rANS block
/// of value integers (offset by L).
package enum MagnitudePruning {
    static let escape = 255

    static func encode(_ m: Matrix, sparsity: Double, bits: Int, into w: inout ByteWriter) {
        let n = m.count
        let keep = n - Int((sparsity * Double(n)).rounded(.down))
        // The `keep` largest magnitudes (ties: lower index), in row-major order.
        let order = (0..<n).sorted { (abs(m.storage[$0]), -$0) > (abs(m.storage[$1]), -$1) }
        let survivors = order.prefix(keep).sorted()
        let L = (1 << (bits - 1)) - 1
        let maxAbs = survivors.reduce(Float(0)) { max($0, abs(m.storage[$1])) }
        let s = HalfPrecision.float(fromHalfBits: HalfPrecision.halfBits(from: maxAbs / Float(L)))
        var gaps: [Int] = [], values: [Int] = []
        var previous = -1
        for p in survivors {
            var g = p - previous - 1
            while g >= escape { gaps.append(escape); g -= escape }
            gaps.append(g)
            previous = p
            let q = s > 0 ? Int(min(max((m.storage[p] / s).rounded(), Float(-L)), Float(L))) : 0
            values.append(q + L)
        }
        w.varint(survivors.count)
        w.u8(UInt8(bits))
        w.f16(s)
        w.lengthPrefixed(RANSCoder.encode(gaps, alphabetSize: escape + 1))
        w.lengthPrefixed(RANSCoder.encode(values, alphabetSize: 2 * L + 1))
    }

    static func decode(_ r: inout CompactReader, rows: Int, columns: Int) throws(CompareError) -> Matrix {
        let n = rows * columns
        let count = try r.varint(limit: n)
        let bits = Int(try r.u8())
        guard (2...8).contains(bits) else { throw r.corrupt("pruned values of \(bits) bits") }
        let L = (1 << (bits - 1)) - 1
        let s = try r.half()
        var gr = CompactReader(try r.block(), what: r.what + " (pruning gaps)")
        let gaps = try RANSCoder.decode(&gr)
        var vr = CompactReader(try r.block(), what: r.what + " (pruned values)")
        let values = try RANSCoder.decode(&vr)
        guard values.count == count, values.allSatisfy({ $0 <= 2 * L }) else { throw r.corrupt("\(values.count) values for \(count) survivors") }
        var out = Matrix(rows: rows, columns: columns)
        var position = -1, g = 0, k = 0
        for symbol in gaps {
            g += symbol
            if symbol == escape { continue }
            position += g + 1
            g = 0
            guard position < n, k < count else { throw r.corrupt("survivor position past the \(rows)×\(columns) matrix") }
            out.storage[position] = Float(values[k] - L) * s
            k += 1
        }
        guard k == count, g == 0 else { throw r.corrupt("\(k) positions for \(count) survivors") }
        return out
    }
}
