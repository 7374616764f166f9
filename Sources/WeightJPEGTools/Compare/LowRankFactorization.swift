#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
import WeightJPEG
#endif

/// Truncated SVD of a weight matrix, W (m×n) ≈ A·B with A = U_r (m×r, the top-r eigenvectors of
/// W·Wᵀ from LAPACK's `ssyevd`) and B = Aᵀ·W (r×n), both stored in float16 (B is computed from the
/// float16-rounded A). A matrix whose factors would not be smaller than itself stays dense float16.
///
/// Layout per matrix: rank (varint; 0 = dense float16 follows), then A and B row-major in float16.
package enum LowRankFactorization {
    /// Largest side the eigen-decomposition is run on (W·Wᵀ is m×m floats).
    static let maxSide = 8192

    static func encode(_ w: Matrix, rank: Int, into out: inout ByteWriter) throws(CompareError) {
        let m = w.rows, n = w.columns
        let r = min(rank, m, n)
        guard r * (m + n) < m * n else {
            out.varint(0)
            out.f16s(w.storage)
            return
        }
        guard m <= maxSide else { throw .unsupported("low rank: a \(m)×\(n) matrix is too large for the eigen-decomposition (at most \(maxSide) rows)") }
        var gram = Matrix(rows: m, columns: m)
        BLAS.gemm(w, w, transB: .transpose, into: &gram)
        let vectors = try topEigenvectors(gram, count: r)  // r × m, each row an eigenvector
        let a = Matrix(rows: m, columns: r, storage: (0..<(m * r)).map {
            HalfPrecision.float(fromHalfBits: HalfPrecision.halfBits(from: vectors[($0 % r) * m + $0 / r]))
        })
        var b = Matrix(rows: r, columns: n)
        BLAS.gemm(a, w, transA: .transpose, into: &b)
        out.varint(r)
        out.f16s(a.storage)
        out.f16s(b.storage)
    }

    static func decode(_ rd: inout CompactReader, rows m: Int, columns n: Int) throws(CompareError) -> Matrix {
        let r = try rd.varint(limit: min(m, n))
        if r == 0 { return Matrix(rows: m, columns: n, storage: try rd.halves(m * n)) }
        let a = Matrix(rows: m, columns: r, storage: try rd.halves(m * r))
        let b = Matrix(rows: r, columns: n, storage: try rd.halves(r * n))
        var w = Matrix(rows: m, columns: n)
        BLAS.gemm(a, b, into: &w)
        return w
    }

    /// The eigenvectors of the symmetric `g` for its `count` largest eigenvalues, largest first,
    /// as `count` rows of `g.rows` values.
    static func topEigenvectors(_ g: Matrix, count: Int) throws(CompareError) -> [Float] {
        var n = Int32(g.rows), lda = Int32(g.rows), info: Int32 = 0
        var a = g.storage  // symmetric: row- and column-major agree
        var eigenvalues = [Float](repeating: 0, count: g.rows)
        var lwork: Int32 = -1, liwork: Int32 = -1
        var workSize: Float = 0, iworkSize: Int32 = 0
        callSyevd(&n, &a, &lda, &eigenvalues, &workSize, &lwork, &iworkSize, &liwork, &info)
        guard info == 0 else { throw .unsupported("ssyevd workspace query failed (info \(info))") }
        lwork = Int32(workSize); liwork = iworkSize
        var work = [Float](repeating: 0, count: Int(lwork))
        var iwork = [Int32](repeating: 0, count: Int(liwork))
        callSyevd(&n, &a, &lda, &eigenvalues, &work, &lwork, &iwork, &liwork, &info)
        guard info == 0 else { throw .unsupported("ssyevd did not converge (info \(info))") }
        // Ascending eigenvalues; column j of the column-major result is eigenvector j.
        let m = g.rows
        var out = [Float](repeating: 0, count: count * m)
        for i in 0..<count {
            let j = m - 1 - i
            for k in 0..<m { out[i * m + k] = a[j * m + k] }
        }
        return out
    }

    private static func callSyevd(_ n: inout Int32, _ a: inout [Float], _ lda: inout Int32, _ w: inout [Float],
                                  _ work: UnsafeMutablePointer<Float>, _ lwork: inout Int32,
                                  _ iwork: UnsafeMutablePointer<Int32>, _ liwork: inout Int32, _ info: inout Int32) {
        var jobz = CChar(UInt8(ascii: "V")), uplo = CChar(UInt8(ascii: "U"))
        #if canImport(Accelerate)
        ssyevd_(&jobz, &uplo, &n, &a, &lda, &w, work, &lwork, iwork, &liwork, &info)
        #else
        ssyevd_(&jobz, &uplo, &n, &a, &lda, &w, work, &lwork, iwork, &liwork, &info, 1, 1)
        #endif
    }
}
