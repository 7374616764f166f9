import Foundation
import WeightJPEGFormats

/// Quantization tables for weight images, as alternatives to JPEG's eye-tuned IJG table.
///
/// Every table has 64 entries in natural order (k = 8·row + column, row = vertical frequency),
/// each in 1…255 so the stream stays 8-bit baseline; the table is written into the JPEG as usual
/// (`JPEGTensorParameters.quality == 0` records that an explicit table was used).
///
/// - `flat(step:)`: every frequency quantized with the same step (in pixel units: JPEG's DCT is
///   orthonormal, so a flat step `q` adds roughly `q²/12` of squared error per pixel);
/// - `spectrum(rms:step:exponent:)`: derived from the weights' own blockwise DCT spectrum,
///   `Q(k) = step · (rms(k) / g)^(−exponent)` with `g` the geometric mean of the 64 RMS values, so
///   frequencies with little energy are quantized coarsely and energetic ones finely
///   (`exponent == 0` is the flat table).
public enum QuantizationTables {
    /// The orthonormal 8-point DCT-II basis, `basis[u][x] = c(u)/2 · cos((2x+1)uπ/16)`, `c(0) = 1/√2`
    /// (JPEG's forward DCT: `F(u,v) = Σ_y Σ_x basis[u][y] basis[v][x] f(y,x)`).
    static let basis: [[Double]] = (0..<8).map { (u: Int) -> [Double] in
        let c: Double = u == 0 ? 0.5 / 2.0.squareRoot() : 0.5
        return (0..<8).map { (x: Int) -> Double in
            let angle: Double = Double(2 * x + 1) * Double(u) * Double.pi / 16
            return c * cos(angle)
        }
    }

    /// A flat table: all 64 entries equal to `step` (clamped to 1…255).
    public static func flat(step: Int) -> [UInt16] {
        [UInt16](repeating: UInt16(min(max(step, 1), 255)), count: 64)
    }

    /// The root-mean-square of each DCT frequency (natural order, pixel units after JPEG's level
    /// shift by 128) over all 8×8 blocks of the tiles of `values` (`rows × columns`), mapped to pixels
    /// with one min/max for the whole tensor and padded to whole blocks by edge replication, exactly
    /// as `JPEGTensorCodec` prepares them for `layout`. With `tileStride` > 1, over every
    /// `tileStride`-th tile only (an estimate; the mapping still comes from the whole tensor).
    public static func coefficientRMS(_ values: [Float], rows: Int, columns: Int, layout: TileLayout, tileStride: Int = 1) -> [Double] {
        precondition(layout.fits(rows: rows, columns: columns) && values.count == rows * columns)
        let scales = ScaleTable.fit(values: values, layout: layout, rows: rows, columns: columns, mode: .tensor)
        let mapping = scales.mapping(tile: 0)
        let across = layout.grid(rows: rows, columns: columns).across
        var sum = [Double](repeating: 0, count: 64)
        var blocks = 0
        let block = UnsafeMutableBufferPointer<Double>.allocate(capacity: 64), rowsT = UnsafeMutableBufferPointer<Double>.allocate(capacity: 64)
        defer { block.deallocate(); rowsT.deallocate() }
        for t in stride(from: 0, to: layout.tileCount(rows: rows, columns: columns), by: max(tileStride, 1)) {
            let (h, w) = layout.size(ofTile: t, rows: rows, columns: columns)
            let ph = roundUpToBlock(h), pw = roundUpToBlock(w)
            var pixels = [Double](repeating: 0, count: ph * pw)
            for y in 0..<ph {
                let sy = min(y, h - 1)
                let start = layout.rowStart(tile: t, y: sy, columns: columns, across: across)
                for x in 0..<pw {
                    pixels[y * pw + x] = Double(mapping.pixel(values[start + min(x, w - 1)])) - 128
                }
            }
            pixels.withUnsafeBufferPointer { px in
                sum.withUnsafeMutableBufferPointer { acc in
                    for by in stride(from: 0, to: ph, by: 8) {
                        for bx in stride(from: 0, to: pw, by: 8) {
                            dct8x8(px.baseAddress! + by * pw + bx, stride: pw, into: block.baseAddress!, scratch: rowsT.baseAddress!)
                            for k in 0..<64 { acc[k] += block[k] * block[k] }
                            blocks += 1
                        }
                    }
                }
            }
        }
        return sum.map { blocks == 0 ? 0 : ($0 / Double(blocks)).squareRoot() }
    }

    /// The 2-D DCT of the 8×8 block at `origin` of a row-major image with `stride` columns
    /// (natural order).
    static func dct8x8(_ p: [Double], stride: Int, origin: Int) -> [Double] {
        var out = [Double](repeating: 0, count: 64), rowsT = [Double](repeating: 0, count: 64)
        p.withUnsafeBufferPointer { pb in
            out.withUnsafeMutableBufferPointer { o in
                rowsT.withUnsafeMutableBufferPointer { r in dct8x8(pb.baseAddress! + origin, stride: stride, into: o.baseAddress!, scratch: r.baseAddress!) }
            }
        }
        return out
    }

    /// `basis` flattened, `flatBasis[8u + x] = basis[u][x]`.
    static let flatBasis: [Double] = basis.flatMap { $0 }

    /// The 2-D DCT of the 8×8 block at `p` (row stride `stride`) into `out` (64 values, natural
    /// order), using 64 values of `scratch`; no allocation (the coding-gain test runs it on every
    /// block of a tensor).
    static func dct8x8(_ p: UnsafePointer<Double>, stride: Int, into out: UnsafeMutablePointer<Double>, scratch rowsT: UnsafeMutablePointer<Double>) {
        flatBasis.withUnsafeBufferPointer { b in
            for y in 0..<8 {   // horizontal transform: rowsT[y*8+v]
                for v in 0..<8 {
                    var s = 0.0
                    for x in 0..<8 { s += b[v &* 8 &+ x] * p[y &* stride &+ x] }
                    rowsT[y &* 8 &+ v] = s
                }
            }
            for u in 0..<8 {
                for v in 0..<8 {
                    var s = 0.0
                    for y in 0..<8 { s += b[u &* 8 &+ y] * rowsT[y &* 8 &+ v] }
                    out[u &* 8 &+ v] = s
                }
            }
        }
    }

    /// A table from a spectrum: `Q(k) = step · (rms(k) / g)^(−exponent)`, `g` the geometric mean of
    /// the RMS values (each floored at 1% of the largest so silent frequencies stay finite),
    /// rounded and clamped to 1…255.
    public static func spectrum(rms: [Double], step: Double, exponent: Double) -> [UInt16] {
        precondition(rms.count == 64)
        let top = max(rms.max() ?? 0, 1e-12)
        let floored = rms.map { max($0, top * 0.01) }
        let g = exp(floored.reduce(0) { $0 + log($1) } / 64)
        return floored.map { r in
            let q = step * pow(r / g, -exponent)
            return UInt16(min(max(q.rounded(), 1), 255))
        }
    }

    /// `spectrum(rms:step:exponent:)` of the tensor's own `coefficientRMS`.
    public static func spectrum(of values: [Float], rows: Int, columns: Int, layout: TileLayout,
                                step: Double, exponent: Double) -> [UInt16] {
        spectrum(rms: coefficientRMS(values, rows: rows, columns: columns, layout: layout), step: step, exponent: exponent)
    }

    /// Whether `table` is a valid baseline table (64 entries in 1…255).
    public static func isBaseline(_ table: [UInt16]) -> Bool {
        table.count == 64 && table.allSatisfy { (1...255).contains($0) }
    }
}
