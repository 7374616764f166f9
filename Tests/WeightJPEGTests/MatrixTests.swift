import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGTools

@Test func gemmMatchesNaiveProduct() {
    var rng = RandomSource(seed: 1)
    let a = Matrix(rows: 3, columns: 5, storage: (0..<15).map { _ in rng.uniform(1) })
    let b = Matrix(rows: 5, columns: 4, storage: (0..<20).map { _ in rng.uniform(1) })
    var c = Matrix(rows: 3, columns: 4)
    BLAS.gemm(a, b, into: &c)
    for i in 0..<3 {
        for j in 0..<4 {
            var s: Float = 0
            for k in 0..<5 { s += a[i, k] * b[k, j] }
            #expect(abs(c[i, j] - s) < 1e-5)
        }
    }
    var ct = Matrix(rows: 4, columns: 3)
    BLAS.gemm(b, a, transA: .transpose, transB: .transpose, into: &ct)
    #expect(ct.transposed().storage.indices.allSatisfy { abs(ct.transposed().storage[$0] - c.storage[$0]) < 1e-5 })
}

@Test func randomSourceIsDeterministic() {
    var a = RandomSource(seed: 42), b = RandomSource(seed: 42)
    #expect((0..<100).map { _ in a.next() } == (0..<100).map { _ in b.next() })
    var c = RandomSource(seed: 7)
    let p = c.permutation(1000)
    #expect(p.sorted() == Array(0..<1000))
    #expect(p != Array(0..<1000))
}

