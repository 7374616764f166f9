import Foundation
import WeightJPEGCore
import WeightJPEGFormats

/// How far a decoded tensor is from its original: RMSE, relative RMS error `‖ΔW‖ / ‖W‖` and SNR.
public struct WeightDistortion: Codable, Sendable, Equatable {
    /// Root-mean-square of `decoded − original`.
    public let rmse: Double
    /// `‖ΔW‖ / ‖W‖` (Frobenius norms); 0 when the decoded tensor equals the original, nil when the
    /// original is all zeros and the decoded one is not.
    public let relative: Double?
    /// `20·log10(‖W‖ / ‖ΔW‖)` in dB; nil when the error is zero (infinite SNR) or the original is zero.
    public let snrDB: Double?

    /// Compares two tensors of the same size.
    public init(original: [Float], decoded: [Float]) {
        precondition(original.count == decoded.count)
        var e = 0.0, w = 0.0
        original.withUnsafeBufferPointer { o in
            decoded.withUnsafeBufferPointer { d in
                for c in stride(from: 0, to: o.count, by: Self.chunk) {
                    let range = c..<min(o.count, c + Self.chunk)
                    Self.accumulate(UnsafeBufferPointer(rebasing: o[range]), UnsafeBufferPointer(rebasing: d[range]), error: &e, norm: &w)
                }
            }
        }
        self.init(squaredError: e, squaredNorm: w, count: original.count)
    }

    /// Both initializers walk the tensors in chunks of this many elements.
    private static let chunk = 1 << 16

    /// Adds `Σ(decoded − original)²` to `e` and `Σ original²` to `w` over one chunk: element i to
    /// sum i mod 4 (four independent chains of additions instead of one), the sums then added to
    /// `e` and `w` as (s0 + s1) + (s2 + s3). Both initializers sum the same chunks this way, so
    /// they agree to the bit.
    private static func accumulate(_ original: UnsafeBufferPointer<Float>, _ decoded: UnsafeBufferPointer<Float>,
                                   error e: inout Double, norm w: inout Double) {
        var se = SIMD4<Double>(), sw = SIMD4<Double>()
        let n = original.count, wide = n & ~3
        var i = 0
        while i < wide {
            let o = SIMD4<Double>(Double(original[i]), Double(original[i + 1]), Double(original[i + 2]), Double(original[i + 3]))
            let d = SIMD4<Double>(Double(decoded[i]), Double(decoded[i + 1]), Double(decoded[i + 2]), Double(decoded[i + 3])) - o
            se += d * d
            sw += o * o
            i += 4
        }
        while i < n {
            let o = Double(original[i]), d = Double(decoded[i]) - o
            se[i & 3] += d * d
            sw[i & 3] += o * o
            i += 1
        }
        e += (se[0] + se[1]) + (se[2] + se[3])
        w += (sw[0] + sw[1]) + (sw[2] + sw[3])
    }

    /// Compares two float tensors of the same element count (each converted as `floats()` converts
    /// it), walking them in chunks of 2^16 elements: no float copy of either is made, so measuring a
    /// tensor costs no memory beyond the two tensors' own bytes (a mapped original's pages are
    /// dropped again as they are read).
    public init(original: SafetensorsTensor, decoded: SafetensorsTensor) throws(SafetensorsError) {
        precondition(original.count == decoded.count)
        let n = original.count, chunk = Self.chunk
        var a = [Float](repeating: 0, count: min(n, chunk)), b = a
        var e = 0.0, w = 0.0
        for c in stride(from: 0, to: n, by: chunk) {
            let range = c..<min(n, c + chunk)
            try a.withUnsafeMutableBufferPointer { (p) throws(SafetensorsError) in try original.floats(range, into: p) }
            try b.withUnsafeMutableBufferPointer { (p) throws(SafetensorsError) in try decoded.floats(range, into: p) }
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    Self.accumulate(UnsafeBufferPointer(rebasing: pa[0..<range.count]), UnsafeBufferPointer(rebasing: pb[0..<range.count]),
                                    error: &e, norm: &w)
                }
            }
        }
        self.init(squaredError: e, squaredNorm: w, count: n)
    }

    /// From the sums `Σ(ΔW)²`, `ΣW²` over `count` elements.
    public init(squaredError e: Double, squaredNorm w: Double, count: Int) {
        rmse = count == 0 ? 0 : (e / Double(count)).squareRoot()
        relative = e == 0 ? 0 : (w == 0 ? nil : (e / w).squareRoot())
        snrDB = e == 0 || w == 0 ? nil : 10 * log10(w / e)
    }

    /// Whether the relative error is at most `bound`.
    public func within(_ bound: Double) -> Bool { relative.map { $0 <= bound } ?? false }

    /// `values` as the decompressor writes them in `dtype` and reads them back (F16/BF16 round to
    /// nearest even; F32 and F64 keep every float).
    public static func rounded(_ values: [Float], to dtype: SafetensorsDType) -> [Float] {
        switch dtype {
        case .F16: return values.map { HalfPrecision.float(fromHalfBits: HalfPrecision.halfBits(from: $0)) }
        case .BF16: return values.map { HalfPrecision.float(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: $0)) }
        default: return values
        }
    }
}
