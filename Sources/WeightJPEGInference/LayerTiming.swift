#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import Foundation
import WeightJPEGCore
import WeightJPEGModel

/// Timing helpers for comparing first-layer engines (`bench infer`): a monotonic clock, per-sample
/// latency, and the dense float32 baseline through BLAS (`cblas_sgemv` for one sample,
/// `cblas_sgemm` for a batch).
public enum LayerTiming {
    /// Monotonic time in seconds.
    @inline(__always)
    public static func now() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) * 1e-9
    }

    /// Dense `y = W x + b` for one sample with `cblas_sgemv` (`W` is `outputs × inputs`, row-major).
    @inline(__always)
    public static func denseForwardOne(_ layer: DenseLayer, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let n = layer.outputs, k = layer.inputs
        layer.bias.withUnsafeBufferPointer { b in y.update(from: b.baseAddress!, count: n) }
        layer.weight.storage.withUnsafeBufferPointer { w in
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), 1, w.baseAddress!, Int32(k), x, 1, 1, y, 1)
        }
    }

    /// Median seconds per call of `body(i)` over `count` calls (each timed on its own), after
    /// `warmup` untimed calls.
    public static func medianLatency(count: Int, warmup: Int = 200, _ body: (Int) -> Void) -> Double {
        for i in 0..<min(warmup, count) { body(i) }
        var times = [Double](repeating: 0, count: count)
        for i in 0..<count {
            let t0 = now()
            body(i)
            times[i] = now() - t0
        }
        times.sort()
        return count == 0 ? 0 : times[count / 2]
    }

    /// The best of `repeats` timings of `body` (seconds).
    public static func best(repeats: Int, _ body: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<max(1, repeats) {
            let t0 = now()
            body()
            best = min(best, now() - t0)
        }
        return best
    }

    /// The median of `repeats` timings of `body` (seconds).
    public static func median(repeats: Int, _ body: () throws -> Void) rethrows -> Double {
        var times: [Double] = []
        for _ in 0..<max(1, repeats) {
            let t0 = now()
            try body()
            times.append(now() - t0)
        }
        times.sort()
        return times[times.count / 2]
    }
}
