import Foundation
import WeightJPEGCore

extension EntropyTrellis {
    // MARK: Context model

    /// Row classes, column shifts and the class tables.
    struct ClassModel {
        var name: String
        var rowClass: [UInt8]       // rows entries, each < K
        var columnShift: [Int8]     // columns entries, |shift| < K
        var tables: [TrellisRANS.Table?]   // K·Q entries (class-major); nil = class never used
        var rowBits: Int
        var columnBits: Int
        /// 1 (plain levels) or 2 (dependent quantization: a table per class and quantizer).
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

    /// Σ v² in Double, added in order, as `s += v * v` would: computed exactly in integers when the
    /// total is below 2⁵³ (then every square and partial sum is an integer that Double holds
    /// exactly, so the result is the same), else by the Double additions themselves.
    static func squareSum(_ q: UnsafeBufferPointer<Int32>) -> Double {
        // Four wrapping integer sums (no chain between neighbours) and the largest magnitude: when
        // count · largest² fits in 64 bits no partial sum can have wrapped, so their total is exact.
        var sums = (UInt64(0), UInt64(0), UInt64(0), UInt64(0)), largest: UInt32 = 0
        var i = 0
        while i + 4 <= q.count {
            let a = q[i].magnitude, b = q[i + 1].magnitude, c = q[i + 2].magnitude, d = q[i + 3].magnitude
            sums.0 &+= UInt64(a) &* UInt64(a); sums.1 &+= UInt64(b) &* UInt64(b)
            sums.2 &+= UInt64(c) &* UInt64(c); sums.3 &+= UInt64(d) &* UInt64(d)
            largest = max(largest, a | b | c | d)   // a | b | c | d is at least each of the four
            i += 4
        }
        while i < q.count { let m = q[i].magnitude; sums.0 &+= UInt64(m) &* UInt64(m); largest = max(largest, m); i += 1 }
        let bound = UInt64(largest)   // ≥ every magnitude
        let (square, o1) = bound.multipliedReportingOverflow(by: bound)
        let (_, o2) = square.multipliedReportingOverflow(by: UInt64(q.count))
        let exact = sums.0 &+ sums.1 &+ sums.2 &+ sums.3
        if !o1, !o2, exact < 1 << 53 { return Double(exact) }
        // Otherwise the Double additions (exact too while the total stays below 2⁵³).
        var s = 0.0
        for v in q { let d = Double(v); s += d * d }
        return s
    }

    /// Builds each candidate model, estimates its size from its class histograms, keeps the smallest.
    /// With `rowStride > 1` the histograms (and so the returned tables, then only estimates) cover
    /// every `rowStride`-th row, their symbol bits scaled up to the whole tensor; the row and column
    /// classes always come from every row. `tokens` is read only on the rows the histograms cover.
    static func chooseModel(_ q: UnsafeBufferPointer<Int32>, tokens: UnsafeBufferPointer<UInt8>, rows: Int, columns: Int,
                            options: Options, tableCopies: Int = 1, rowStride: Int = 1) -> ClassModel {
        // Log2 RMS per row, and per column of the row-normalized values.
        var rowLog = [Double](repeating: 0, count: rows)
        var rowMS = [Double](repeating: 0, count: rows)
        var colMS = [Double](repeating: 0, count: columns)
        for r in 0..<rows {
            rowMS[r] = squareSum(UnsafeBufferPointer(rebasing: q[(r * columns)..<((r + 1) * columns)])) / Double(columns)
            rowLog[r] = 0.5 * log2(rowMS[r] + 0.25)
        }
        // Every column counts the same rows: those with a non-zero mean square.
        var colN = 0.0
        colMS.withUnsafeMutableBufferPointer { ms in
            for r in 0..<rows where rowMS[r] > 0 {
                let inv = 1 / rowMS[r]
                colN += 1
                // Independent columns: no chain between elements (four at a time, each as `ms[c] += v * v * inv`).
                let row = UnsafeBufferPointer(rebasing: q[(r * columns)..<((r + 1) * columns)])
                var c = 0
                while c + 4 <= columns {
                    let v = SIMD4<Double>(Double(row[c]), Double(row[c + 1]), Double(row[c + 2]), Double(row[c + 3]))
                    let sum = SIMD4<Double>(ms[c], ms[c + 1], ms[c + 2], ms[c + 3]) + v * v * inv
                    ms[c] = sum[0]; ms[c + 1] = sum[1]; ms[c + 2] = sum[2]; ms[c + 3] = sum[3]
                    c += 4
                }
                while c < columns { let v = Double(row[c]); ms[c] += v * v * inv; c += 1 }
            }
        }
        let colLog = (0..<columns).map { colN > 0 ? 0.5 * log2(colMS[$0] / colN + 1e-3) : 0 }

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
                    // Shifts ≥ 0 when there are no row classes; otherwise centered on 0.
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
                        for r in stride(from: 0, to: rows, by: rowStride) {
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
            let scale = Double(rows) / Double((rows + rowStride - 1) / rowStride)
            var tables: [TrellisRANS.Table?] = []
            for cls in 0..<kk {
                let counts = Array(hist[(cls * 128)..<(cls * 128 + 128)])
                let table = TrellisRANS.Table(counts: counts)
                tables.append(table)
                guard let table else { bits += 8 * Double(tableCopies); continue }
                bits += 8 * Double(table.byteCount * tableCopies)
                // Cost under the quantized table (signed symbols: token t ≥ 1 splits its count between signs).
                for t in 0..<table.g.count where counts[t] > 0 {
                    let p = Double(table.g[t]) / Double(TrellisRANS.total)
                    bits += scale * Double(counts[t]) * -log2(p)
                }
            }
            cand.tables = tables
            if best == nil || bits < best!.1 { best = (cand, bits) }
        }
        return best!.0
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
