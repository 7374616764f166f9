#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#if canImport(Glibc)
import Glibc
#endif
#endif

/// Every matrix product of training and dense inference goes through here, to OpenBLAS's `cblas_sgemm`
/// (Accelerate on macOS).
public enum BLAS {
    /// Whether an operand is used as stored or transposed.
    public enum Transpose: Sendable {
        case none, transpose
        @usableFromInline
        var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
    }

    /// `C = alpha * op(A) * op(B) + beta * C` on row-major buffers.
    ///
    /// - Parameters:
    ///   - m: rows of `op(A)` and `C`; `n`: columns of `op(B)` and `C`; `k`: the inner dimension.
    ///   - lda, ldb, ldc: row strides (elements) of A, B and C as stored.
    @inlinable
    public static func sgemm(
        _ transA: Transpose, _ transB: Transpose,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA.cblas, transB.cblas,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `C = alpha * op(A) * op(B) + beta * C` for whole matrices; shapes are checked.
    public static func gemm(
        _ a: Matrix, _ b: Matrix,
        transA: Transpose = .none, transB: Transpose = .none,
        alpha: Float = 1, beta: Float = 0, into c: inout Matrix
    ) {
        let (m, k) = transA == .none ? (a.rows, a.columns) : (a.columns, a.rows)
        let (kb, n) = transB == .none ? (b.rows, b.columns) : (b.columns, b.rows)
        precondition(k == kb && c.rows == m && c.columns == n, "gemm shape mismatch")
        if m == 0 || n == 0 { return }
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    sgemm(transA, transB, m: m, n: n, k: k, alpha: alpha,
                          a: pa.baseAddress!, lda: max(a.columns, 1),
                          b: pb.baseAddress!, ldb: max(b.columns, 1),
                          beta: beta, c: pc.baseAddress!, ldc: max(c.columns, 1))
                }
            }
        }
    }

    /// The BLAS kernel in use, e.g. `"OpenBLAS 0.3.21 Haswell (1 thread)"`.
    public static var kernelDescription: String {
        #if canImport(Accelerate)
        return "Accelerate"
        #else
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        let config = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
        return "\(config), core \(core), \(openblas_get_num_threads()) thread(s)"
        #endif
    }

    /// Stops OpenBLAS's worker threads (its pthread build starts them when the library loads, and
    /// each spins in `sched_yield` for about 0.1 s before it sleeps: a `decompress` that needs 0.15 s
    /// of CPU took 0.23 s with them, 0.11 s of it in the kernel). A later multi-threaded product
    /// starts them again (OpenBLAS restarts its pool on demand, as after a fork); a single-threaded
    /// one never needs them. Looked up at run time (`blas_thread_shutdown_`): a no-op where the
    /// library has no such function, and on Accelerate.
    public static func stopIdleThreads() {
        #if !canImport(Accelerate)
        typealias Shutdown = @convention(c) () -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_") else { return }
        _ = unsafeBitCast(symbol, to: Shutdown.self)()
        #endif
    }

    /// Sets the number of BLAS threads (OpenBLAS only; ignored elsewhere).
    public static func setThreads(_ n: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(max(1, n)))
        #endif
    }
}
