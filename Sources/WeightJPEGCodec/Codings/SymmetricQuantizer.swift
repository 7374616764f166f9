/// Symmetric uniform quantization with `L` levels each side of zero: a value `w` becomes the integer
/// `q = clamp(round(w / s), −L, L)` and decodes to `q · s`. The one quantizer behind int8 per row
/// (L = 127), fixed-length rows (L = 2^(b−1) − 1) and the per-row baselines of `compare`.
package enum SymmetricQuantizer {
    /// The largest magnitude of `values` (0 for none): the scale of a row is `maxMagnitude / L`.
    package static func maxMagnitude<C: Collection>(_ values: C) -> Float where C.Element == Float {
        values.reduce(Float(0)) { max($0, abs($1)) }
    }

    /// `clamp(round(w · inverseScale), −L, L)`; the caller passes `1 / s` (or 0 for an all-zero row).
    @inline(__always)
    package static func level(_ w: Float, inverseScale: Float, maxLevel L: Int) -> Int {
        Int(min(max((w * inverseScale).rounded(), Float(-L)), Float(L)))
    }
}
