/// The blockwise orthonormal 8×8 DCT-II of an `height × width` image zero-padded to whole blocks —
/// the transform JPEG applies to `pixel − 128`, so that for a JPEG-coded weight image
/// `⟨IDCT(Q⊙q), x⟩ = ⟨Q⊙q, DCT(x)⟩` (the DCT is orthonormal).
///
/// `F(u,v) = ¼ C(u) C(v) Σ_x Σ_y f(x,y) cos((2x+1)uπ/16) cos((2y+1)vπ/16)`, `C(0) = 1/√2`, `C(k>0) = 1`;
/// `x` is the column (horizontal), `y` the row. Output layout: blocks row-major
/// (`block = by · blocksAcross + bx`), 64 coefficients per block in JPEG's natural order
/// `k = 8v + u` (`v` vertical frequency), i.e. coefficient `(u, v)` of block `b` is at `64·b + 8v + u`,
/// the same layout as `DCTCoefficients.blocks`.
///
/// Separable: a row pass (`t_y = Σ_x f(x,y) c_x`, one SIMD8 over `u` per row) then a column pass
/// (`F_v = Σ_y c(v,y) t_y`), 2·64 eight-wide multiply–adds per full block. Rows and columns that
/// lie in the zero padding are skipped.
public struct BlockDCT: Sendable {
    /// Image height in pixels.
    public let height: Int
    /// Image width in pixels.
    public let width: Int
    /// Block rows: `⌈height / 8⌉`.
    public let blocksDown: Int
    /// Blocks per row: `⌈width / 8⌉`.
    public let blocksAcross: Int
    /// `basis[x]` holds `c(u, x) = ½ C(u) cos((2x+1)uπ/16)` for `u = 0…7`.
    package let basis: [SIMD8<Float>]

    /// A transform for `height × width` images.
    public init(height: Int, width: Int) {
        precondition(height > 0 && width > 0, "BlockDCT: empty image")
        self.height = height
        self.width = width
        blocksDown = (height + 7) / 8
        blocksAcross = (width + 7) / 8
        basis = (0..<8).map { x in
            var c = SIMD8<Float>()
            for u in 0..<8 { c[u] = Float(BlockDCT.coefficient(u: u, x: x)) }
            return c
        }
    }

    /// Number of 8×8 blocks, `⌈H/8⌉ · ⌈W/8⌉`.
    public var blockCount: Int { blocksDown * blocksAcross }
    /// Coefficients per image: `64 · blockCount`.
    public var coefficientCount: Int { 64 * blockCount }

    /// `½ C(u) cos((2x+1)uπ/16)`: the orthonormal 1-D DCT-II matrix entry (row `u`, column `x`).
    public static func coefficient(u: Int, x: Int) -> Double {
        let cu = u == 0 ? (0.5).squareRoot() : 1.0
        return 0.5 * cu * cos(Double(2 * x + 1) * Double(u) * Double.pi / 16)
    }

    /// Multiply–adds of one image's transform (scalar count: 8 per SIMD8 operation).
    public var multiplyAdds: Int {
        var total = 0
        for by in 0..<blocksDown {
            let rows = min(8, height - 8 * by)
            for bx in 0..<blocksAcross {
                let columns = min(8, width - 8 * bx)
                total += rows * columns * 8 + rows * 64
            }
        }
        return total
    }

    /// Transforms one image (`height × width` floats, row stride `width`) into `coefficientCount`
    /// floats at `out`. With `weights` (64 per-frequency factors in natural order, as 8 SIMD8 rows
    /// `weights[v][u]`), every block's coefficients are multiplied by them on the way out.
    /// - Returns: `Σ pixels` (computed from the DC terms before weighting: `Σ_b 8·F_b(0,0)`).
    @inline(__always)
    @discardableResult
    public func transform(_ image: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                          weights: UnsafePointer<SIMD8<Float>>? = nil) -> Float {
        basis.withUnsafeBufferPointer { b in
            transform(image, into: out, basis: b.baseAddress!, weights: weights)
        }
    }

    /// Transforms `count` images stored one after another (`height · width` floats each) into
    /// `count · coefficientCount` floats; returns nothing but fills `sums[i]` with image i's sum when given.
    public func transform(batch images: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>,
                          sums: UnsafeMutablePointer<Float>? = nil, weights: UnsafePointer<SIMD8<Float>>? = nil) {
        let inSize = height * width, outSize = coefficientCount
        basis.withUnsafeBufferPointer { b in
            for i in 0..<count {
                let s = transform(images + i * inSize, into: out + i * outSize, basis: b.baseAddress!, weights: weights)
                sums?[i] = s
            }
        }
    }

    /// The array version of the transform, for tests and tools.
    public func transform(_ image: [Float]) -> [Float] {
        precondition(image.count == height * width, "BlockDCT: image has \(image.count) values, expected \(height * width)")
        var out = [Float](repeating: 0, count: coefficientCount)
        image.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in _ = transform(x.baseAddress!, into: o.baseAddress!) }
        }
        return out
    }

    @inline(__always)
    func transform(_ image: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                   basis c: UnsafePointer<SIMD8<Float>>, weights: UnsafePointer<SIMD8<Float>>?) -> Float {
        var dcSum: Float = 0
        for by in 0..<blocksDown {
            let rows = min(8, height - 8 * by)
            for bx in 0..<blocksAcross {
                let columns = min(8, width - 8 * bx)
                let origin = image + (8 * by) * width + 8 * bx
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
                for y in 0..<rows {
                    let r = origin + y * width
                    // Row pass: t[u] = Σ_x f(x, y) c(u, x).
                    var t = SIMD8<Float>()
                    if columns == 8 {
                        t = r[0] * c[0] + r[1] * c[1] + r[2] * c[2] + r[3] * c[3]
                        t += r[4] * c[4] + r[5] * c[5] + r[6] * c[6] + r[7] * c[7]
                    } else {
                        for x in 0..<columns { t += r[x] * c[x] }
                    }
                    // Column pass: F_v[u] += c(v, y) t[u]; c(v, y) for v = 0…7 is basis[y].
                    let cy = c[y]
                    a0 += cy[0] * t; a1 += cy[1] * t; a2 += cy[2] * t; a3 += cy[3] * t
                    a4 += cy[4] * t; a5 += cy[5] * t; a6 += cy[6] * t; a7 += cy[7] * t
                }
                dcSum += a0[0]
                if let w = weights {
                    a0 *= w[0]; a1 *= w[1]; a2 *= w[2]; a3 *= w[3]
                    a4 *= w[4]; a5 *= w[5]; a6 *= w[6]; a7 *= w[7]
                }
                let o = UnsafeMutableRawPointer(out + 64 * (by * blocksAcross + bx))
                o.storeBytes(of: a0, toByteOffset: 0, as: SIMD8<Float>.self)
                o.storeBytes(of: a1, toByteOffset: 32, as: SIMD8<Float>.self)
                o.storeBytes(of: a2, toByteOffset: 64, as: SIMD8<Float>.self)
                o.storeBytes(of: a3, toByteOffset: 96, as: SIMD8<Float>.self)
                o.storeBytes(of: a4, toByteOffset: 128, as: SIMD8<Float>.self)
                o.storeBytes(of: a5, toByteOffset: 160, as: SIMD8<Float>.self)
                o.storeBytes(of: a6, toByteOffset: 192, as: SIMD8<Float>.self)
                o.storeBytes(of: a7, toByteOffset: 224, as: SIMD8<Float>.self)
            }
        }
        // F(0,0) = ⅛ Σ block pixels, so Σ image = 8 Σ_b F_b(0,0).
        return 8 * dcSum
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
