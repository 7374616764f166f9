import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec

// Coding 6's C kernels (Sources/CTrellis): the AVX2 and portable trellis passes agree, and the
// chunk encoder/decoder handle every token range, chunk edge and context model.

/// Rows scaled by a factor cycling over 1…7 and columns by 1 or 3 (so the encoder picks row
/// classes and column shifts), with a few outliers.
private func scaledTensor(rows: Int, columns: Int, seed: UInt64) -> [Float] {
    var values = entropyTrellisGaussian(rows * columns, sigma: 0.02, seed: seed)
    for r in 0..<rows {
        for c in 0..<columns { values[r * columns + c] *= Float(1 + r % 7) * (c % 5 == 0 ? 3 : 1) }
    }
    for i in stride(from: 17, to: values.count, by: 997) { values[i] *= 40 }
    return values
}

/// One chunk, and chunks of 30 rows (96 rows: a pair of full chunks, then a full chunk paired
/// with a 6-row one), which the AVX2 pass runs two at a time in lockstep.
@Test(arguments: [(0.002, 0), (0.03, 0), (0.002, 30), (0.03, 30)])
func entropyTrellisPortableAndAVX2PassesWriteTheSameBytes(bound: Double, rowsPerChunk: Int) throws {
    let rows = 96, columns = 203   // not a multiple of 8: the AVX2 pass finishes rows with the portable code
    let values = scaledTensor(rows: rows, columns: columns, seed: 11)
    var options = EntropyTrellis.Options()
    if rowsPerChunk > 0 { options.chunkElements = rowsPerChunk * columns }
    TrellisQuantizer.forcePortable(true)
    let portable = EntropyTrellis.encode(values, rows: rows, columns: columns, maxRelativeError: bound, options: options)
    TrellisQuantizer.forcePortable(false)
    let simd = EntropyTrellis.encode(values, rows: rows, columns: columns, maxRelativeError: bound, options: options)
    let p = try #require(portable), s = try #require(simd)
    #expect(p.payloads == s.payloads && p.parameters == s.parameters,
            "portable and \(TrellisQuantizer.usesAVX2 ? "AVX2" : "portable (no AVX2 here)") passes differ")
    let decoded = try EntropyTrellis.decode(s.payloads, parameters: s.parameters, rows: rows, columns: columns)
    var e = 0.0, w = 0.0
    for i in values.indices { let d = Double(decoded[i]) - Double(values[i]); e += d * d; w += Double(values[i]) * Double(values[i]) }
    #expect((e / w).squareRoot() <= bound)
    #expect(abs((e / w).squareRoot() - s.relativeError) <= 1e-9)
}

/// Rows longer than the encoder's block of 256 elements (603 columns: two full blocks and a partial
/// one, not a multiple of 8), in chunks of 5 rows (a pair, then 2 rows alone), plain and trellis
/// modes: the decoder gives back the encoder's values, and the AVX2 and portable encoders agree.
@Test(arguments: [false, true])
func entropyTrellisEncodesRowsOfSeveralBlocks(dependent: Bool) throws {
    let rows = 12, columns = 603
    let values = scaledTensor(rows: rows, columns: columns, seed: 17)
    var options = EntropyTrellis.Options()
    options.chunkElements = 5 * columns
    options.dependentQuantization = dependent
    TrellisQuantizer.forcePortable(true)
    let portable = EntropyTrellis.encode(values, rows: rows, columns: columns, maxRelativeError: 0.01, options: options)
    TrellisQuantizer.forcePortable(false)
    let enc = try #require(EntropyTrellis.encode(values, rows: rows, columns: columns, maxRelativeError: 0.01, options: options))
    #expect(enc.payloads.count == 1 + 3 && enc.parameters.dependent == dependent)
    #expect(portable?.payloads == enc.payloads)
    let decoded = try EntropyTrellis.decode(enc.payloads, parameters: enc.parameters, rows: rows, columns: columns)
    var e = 0.0, w = 0.0
    for i in values.indices { let d = Double(decoded[i]) - Double(values[i]); e += d * d; w += Double(values[i]) * Double(values[i]) }
    #expect(abs((e / w).squareRoot() - enc.relativeError) <= 1e-9 && enc.relativeError <= 0.01)
}

@Test func entropyTrellisCodesMagnitudesAbove65536() throws {
    // A tight bound and outliers 2,000σ out: indices above 2¹⁶ (13 extra bits, two raw pieces).
    let rows = 64, columns = 256
    var values = entropyTrellisGaussian(rows * columns, sigma: 1, seed: 5)
    for i in stride(from: 3, to: values.count, by: 1021) { values[i] = i % 2 == 0 ? 2_000 : -2_000 }
    let bound = 1e-4
    let enc = try #require(EntropyTrellis.encode(values, rows: rows, columns: columns, maxRelativeError: bound))
    let step = Double(enc.parameters.step)
    #expect(2_000 / step / 2 > 65_536, "the outliers' indices stay below 2¹⁶ (step \(step))")
    // The AVX2 pass's tokens of such magnitudes (from the float's bits) are the portable pass's.
    TrellisQuantizer.forcePortable(true)
    let portable = EntropyTrellis.encode(values, rows: rows, columns: columns, maxRelativeError: bound)
    TrellisQuantizer.forcePortable(false)
    #expect(portable?.payloads == enc.payloads)
    let decoded = try EntropyTrellis.decode(enc.payloads, parameters: enc.parameters, rows: rows, columns: columns)
    for i in stride(from: 3, to: values.count, by: 1021) {
        #expect(abs(Double(decoded[i]) - Double(values[i])) <= 4 * step, "outlier \(i): \(decoded[i])")
    }
    var e = 0.0, w = 0.0
    for i in values.indices { let d = Double(decoded[i]) - Double(values[i]); e += d * d; w += Double(values[i]) * Double(values[i]) }
    #expect((e / w).squareRoot() <= bound)
}

@Test func entropyTrellisDecodesEveryChunkSizeAtTheStreamEnd() throws {
    // Chunks of 1…40 rows of 7 columns: the decoder's checked path (the stream's last bytes) and
    // its fast path meet at every offset; plain and trellis modes.
    let values = scaledTensor(rows: 40, columns: 7, seed: 3)
    for rowsPerChunk in [1, 2, 3, 5, 8, 13, 40] {
        for dependent in [false, true] {
            var options = EntropyTrellis.Options()
            options.chunkElements = rowsPerChunk * 7
            options.dependentQuantization = dependent
            let enc = try #require(EntropyTrellis.encode(values, rows: 40, columns: 7, maxRelativeError: 0.01, options: options))
            #expect(enc.parameters.rowsPerChunk == rowsPerChunk && enc.parameters.dependent == dependent)
            let decoded = try EntropyTrellis.decode(enc.payloads, parameters: enc.parameters, rows: 40, columns: 7)
            var e = 0.0, w = 0.0
            for i in values.indices { let d = Double(decoded[i]) - Double(values[i]); e += d * d; w += Double(values[i]) * Double(values[i]) }
            #expect(abs((e / w).squareRoot() - enc.relativeError) <= 1e-9, "\(rowsPerChunk) rows per chunk, dependent \(dependent)")
        }
    }
}

/// The context model's row sums: the exact integer path gives the Double additions' result, and
/// sums past 2⁵³ (where Double rounds) take the Double path. The start's indices are `quantize`'s.
@Test func entropyTrellisModelSumsAndIndicesMatchTheirPlainForms() {
    let g = entropyTrellisGaussian(4096, sigma: 1, seed: 21)
    // Exact; exact; past 2⁵³; past UInt64.
    for scale: Float in [3, 3_000, 2_000_000, 2_000_000_000] {
        let q = g.map { Int32(max(min(($0 * scale).rounded(), 2_147_483_008), -2_147_483_008)) }   // floats just below 2³¹
        var plain = 0.0
        for v in q { let d = Double(v); plain += d * d }
        let fast = q.withUnsafeBufferPointer { EntropyTrellis.squareSum($0) }
        #expect(fast == plain, "scale \(scale): \(fast) against \(plain)")
    }
    // Ties (to even), signed zeros and values past the clamp at ±131,071 (step 1: the values are
    // the scaled ones), then a Gaussian.
    let special: [Float] = [0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0, -0.0, 131_070.5, -131_070.5, 131_071.5, 2e9, -2e9, 1e30, -1e30]
    for (values, step) in [(special, Float(1)), (g, Float(0.07))] {
        var a = [Int32](repeating: 0, count: values.count), b = a
        values.withUnsafeBufferPointer { v in
            _ = a.withUnsafeMutableBufferPointer { EntropyTrellis.quantize(v, step: step, into: $0) }
            b.withUnsafeMutableBufferPointer { EntropyTrellis.quantizeIndices(v, step: step, into: $0) }
        }
        #expect(a == b)
    }
    var q = [Int32](repeating: 7, count: special.count)
    special.withUnsafeBufferPointer { v in q.withUnsafeMutableBufferPointer { EntropyTrellis.quantizeIndices(v, step: 1, into: $0) } }
    #expect(q == [0, 0, 2, -2, 2, -2, 0, 0, 131_070, -131_070, 131_071, 131_071, -131_071, 131_071, -131_071] as [Int32])
}
