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
        Self.accumulate(original, decoded, count: original.count, error: &e, norm: &w)
        self.init(squaredError: e, squaredNorm: w, count: original.count)
    }

    /// Adds `Σ(decoded − original)²` to `e` and `Σ original²` to `w` over the first `count` elements,
    /// in order (both initializers sum the same way, so they agree to the bit).
    private static func accumulate(_ original: [Float], _ decoded: [Float], count: Int, error e: inout Double, norm w: inout Double) {
        for i in 0..<count {
            let o = Double(original[i]), d = Double(decoded[i]) - o
            e += d * d
            w += o * o
        }
    }

    /// Compares two float tensors of the same element count (each converted as `floats()` converts
    /// it), walking them in chunks of 2^16 elements: no float copy of either is made, so measuring a
    /// tensor costs no memory beyond the two tensors' own bytes (a mapped original's pages are
    /// dropped again as they are read).
    public init(original: SafetensorsTensor, decoded: SafetensorsTensor) throws(SafetensorsError) {
        precondition(original.count == decoded.count)
        let n = original.count, chunk = 1 << 16
        var a = [Float](repeating: 0, count: min(n, chunk)), b = a
        var e = 0.0, w = 0.0
        for c in stride(from: 0, to: n, by: chunk) {
            let range = c..<min(n, c + chunk)
            try a.withUnsafeMutableBufferPointer { (p) throws(SafetensorsError) in try original.floats(range, into: p) }
            try b.withUnsafeMutableBufferPointer { (p) throws(SafetensorsError) in try decoded.floats(range, into: p) }
            Self.accumulate(a, b, count: range.count, error: &e, norm: &w)
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
