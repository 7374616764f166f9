import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEGTools

// MARK: - Test tensors

/// `rows × 784`: each row a smooth random 28×28 image (low-frequency waves and a tilt), values ~±0.1.
func smoothRowsTensor(rows: Int, seed: UInt64) -> [Float] {
    var rng = RandomSource(seed: seed)
    var v = [Float](repeating: 0, count: rows * 784)
    for r in 0..<rows {
        let fx = 0.15 + Double(abs(rng.uniform(0.25))), fy = 0.1 + Double(abs(rng.uniform(0.25)))
        let px = Double(rng.uniform(3)), py = Double(rng.uniform(3))
        let a = Double(rng.uniform(0.08)), tx = Double(rng.uniform(0.002)), ty = Double(rng.uniform(0.002))
        let offset = Double(rng.uniform(0.02))
        for y in 0..<28 {
            for x in 0..<28 {
                v[r * 784 + y * 28 + x] = Float(offset + a * sin(fx * Double(x) + px) * cos(fy * Double(y) + py)
                                                + tx * Double(x) + ty * Double(y))
            }
        }
    }
    return v
}

/// `rows × columns` smooth 2-D field with a little noise.
func smoothMatrix(rows: Int, columns: Int, seed: UInt64) -> [Float] {
    var rng = RandomSource(seed: seed)
    let p1 = Double(rng.uniform(3)), p2 = Double(rng.uniform(3))
    return (0..<(rows * columns)).map { i in
        let (r, c) = (Double(i / columns), Double(i % columns))
        return Float(0.3 * sin(r / 9 + p1) * cos(c / 13 + p2) + 0.1 * sin((r + c) / 21)) + rng.uniform(0.01)
    }
}

private struct ErrorStats {
    var rms: Double
    var maxAbs: Float
    /// Largest error in units of the tile's pixel step.
    var maxSteps: Float
}

/// Error of `decoded` against `original`, and the worst error measured in pixel steps of the
/// mapping actually stored (the first payload).
private func errorStats(_ original: [Float], _ decoded: [Float], payloads: [[UInt8]], rows: Int, columns: Int,
                        parameters p: JPEGTensorParameters) throws -> ErrorStats {
    let layout = p.layout
    let tiles = layout.tileCount(rows: rows, columns: columns)
    let scales = try ScaleTable(bytes: payloads[0], count: p.scale == .tensor ? 1 : tiles)
    var sum = 0.0, worst: Float = 0, worstSteps: Float = 0
    for t in 0..<tiles {
        let m = scales.mapping(tile: t)
        layout.forEachElement(ofTile: t, rows: rows, columns: columns) { _, _, i in
            let d = abs(decoded[i] - original[i])
            sum += Double(d * d)
            worst = max(worst, d)
            if !m.isConstant { worstSteps = max(worstSteps, d / m.step) } else if d > 0 { worstSteps = .infinity }
        }
    }
    return ErrorStats(rms: (sum / Double(original.count)).squareRoot(), maxAbs: worst, maxSteps: worstSteps)
}

private func roundTrip(_ codec: JPEGTensorCodec, _ values: [Float], rows: Int, columns: Int,
                       _ parameters: JPEGTensorParameters) throws -> (decoded: [Float], payloads: [[UInt8]], parameters: JPEGTensorParameters) {
    let (p, payloads) = try codec.encode(values, rows: rows, columns: columns, parameters: parameters)
    // The parameters survive their own serialization.
    #expect(JPEGTensorParameters(bytes: p.serialized()) == p)
    let decoded = try codec.decode(payloads, rows: rows, columns: columns, parameters: p)
    #expect(decoded.count == values.count)
    return (decoded, payloads, p)
}

let rows28 = TileLayout.rows(height: 28, width: 28)

// MARK: - JPEG tensor codec

@Test func rowsLayoutErrorShrinksWithQualityForEveryMode() throws {
    let codec = try JPEGTensorCodec()
    let values = smoothRowsTensor(rows: 64, seed: 1)
    for pack in PackMode.allCases {
        for scale in ScaleMode.allCases {
            var previous = Double.infinity
            var previousBytes = 0
            for q in [5, 20, 50, 95, 100] {
                let params = JPEGTensorParameters(layout: rows28, scale: scale, pack: pack, quality: q)
                let (decoded, payloads, p) = try roundTrip(codec, values, rows: 64, columns: 784, params)
                let stats = try errorStats(values, decoded, payloads: payloads, rows: 64, columns: 784, parameters: p)
                let bytes = payloads.reduce(0) { $0 + $1.count }
                #expect(stats.rms < previous, "\(pack) \(scale) q\(q): rms \(stats.rms) not below \(previous)")
                #expect(bytes > previousBytes, "\(pack) \(scale) q\(q): \(bytes) bytes")
                previous = stats.rms
                previousBytes = bytes
                if q == 100 {
                    #expect(stats.maxSteps <= 1.5, "\(pack) \(scale) q100: max error \(stats.maxSteps) steps")
                }
                // Even at quality 5 the weights stay within the tensor's range, roughly.
                let range = values.max()! - values.min()!
                #expect(stats.maxAbs <= range, "\(pack) \(scale) q\(q): max error \(stats.maxAbs) vs range \(range)")
                // Payload counts: scales + one mosaic image, or scales + tables + streams.
                #expect(payloads.count == (pack == .mosaic ? 2 : 3))
            }
        }
    }
}

@Test func constantTilesRoundTripExactly() throws {
    let codec = try JPEGTensorCodec()
    var rng = RandomSource(seed: 5)
    // Each row constant (values not representable in float16), per-tile scale.
    let rowValues = (0..<16).map { _ in rng.uniform(1) }
    let rowsConstant = (0..<(16 * 784)).map { rowValues[$0 / 784] }
    for pack in PackMode.allCases {
        for q in [5, 50, 100] {
            let params = JPEGTensorParameters(layout: rows28, scale: .tile, pack: pack, quality: q)
            let (decoded, _, _) = try roundTrip(codec, rowsConstant, rows: 16, columns: 784, params)
            #expect(decoded == rowsConstant, "\(pack) q\(q)")
        }
    }
    // A whole-constant tensor with per-tensor scale, including constants float16 cannot hold.
    for c: Float in [0.1, 0, -0.0, 1e-30, -3.3e7, 65504, 0.333333343] {
        for pack in PackMode.allCases {
            for (layout, rows, columns) in [(rows28, 3, 784), (TileLayout.matrix(tileHeight: 64, tileWidth: 64), 100, 37)] {
                for scale in ScaleMode.allCases {
                    let values = [Float](repeating: c, count: rows * columns)
                    let params = JPEGTensorParameters(layout: layout, scale: scale, pack: pack, quality: 20)
                    let (decoded, _, _) = try roundTrip(codec, values, rows: rows, columns: columns, params)
                    #expect(decoded.map(\.bitPattern) == values.map(\.bitPattern) || (c == 0 && decoded.allSatisfy { $0 == 0 }),
                            "constant \(c) \(layout) \(scale) \(pack): got \(decoded.first!)")
                }
            }
        }
    }
}

@Test func matrixLayoutWithRaggedEdges() throws {
    let codec = try JPEGTensorCodec()
    let cases: [(Int, Int, TileLayout)] = [
        (100, 37, .matrix(tileHeight: 64, tileWidth: 64)),
        (300, 200, .defaultMatrix),
        (300, 200, .matrix(tileHeight: 64, tileWidth: 32)),
        (7, 5, .matrix(tileHeight: 3, tileWidth: 2)),
        (1, 1, .defaultMatrix),
        (10, 512, .defaultMatrix),
    ]
    for (rows, columns, layout) in cases {
        let values = smoothMatrix(rows: rows, columns: columns, seed: UInt64(rows * 1000 + columns))
        for pack in PackMode.allCases {
            for scale in ScaleMode.allCases {
                let params = JPEGTensorParameters(layout: layout, scale: scale, pack: pack, quality: 95)
                let (decoded, payloads, p) = try roundTrip(codec, values, rows: rows, columns: columns, params)
                let stats = try errorStats(values, decoded, payloads: payloads, rows: rows, columns: columns, parameters: p)
                // Quality 95 on a smooth field with ±1.5 pixels of noise: a few steps at most. A tile or
                // index mistake at a ragged edge would cost tens to hundreds of steps.
                #expect(stats.maxSteps <= 10, "\(rows)×\(columns) \(layout) \(pack) \(scale): \(stats.maxSteps) steps")
                let range = Double(values.max()! - values.min()!)
                #expect(stats.rms <= 0.015 * range, "\(rows)×\(columns) \(layout) \(pack) \(scale): rms \(stats.rms), range \(range)")
                if pack == .sharedTables {
                    #expect(payloads.count == 3)
                }
            }
        }
    }
}

@Test func arithmeticAndProgressiveDecodeToTheSameWeights() throws {
    // Entropy coding and scan order are lossless: the decoded weights must equal the baseline's.
    let codec = try JPEGTensorCodec()
    let values = smoothRowsTensor(rows: 40, seed: 3)
    let matrix = smoothMatrix(rows: 100, columns: 130, seed: 4)
    for pack in PackMode.allCases {
        for (v, rows, columns, layout) in [(values, 40, 784, rows28), (matrix, 100, 130, TileLayout.defaultMatrix)] {
            let base = JPEGTensorParameters(layout: layout, scale: .tile, pack: pack, quality: 30, optimizeHuffman: false)
            let (reference, referencePayloads, _) = try roundTrip(codec, v, rows: rows, columns: columns, base)
            for (opt, arith, prog) in [(true, false, false), (false, true, false), (false, false, true),
                                       (true, false, true), (false, true, true)] {
                var p = base
                p.optimizeHuffman = opt
                p.arithmetic = arith
                p.progressive = prog
                let (decoded, payloads, stored) = try roundTrip(codec, v, rows: rows, columns: columns, p)
                #expect(stored.arithmetic == arith && stored.progressive == prog && stored.optimizeHuffman == opt)
                #expect(decoded == reference, "\(pack) \(layout) optimize:\(opt) arithmetic:\(arith) progressive:\(prog)")
                // Smaller entropy-coded data for the mosaic. (With shared tables, every tile stream of an
                // optimized-Huffman or arithmetic encode carries its own tables or adapts from scratch, so
                // those come out larger than standard Huffman: not checked here.)
                if pack == .mosaic && (opt || arith) && !prog {
                    let size = payloads.dropFirst().reduce(0) { $0 + $1.count }
                    let baseline = referencePayloads.dropFirst().reduce(0) { $0 + $1.count }
                    #expect(size < baseline + 64, "\(pack) optimize:\(opt) arithmetic:\(arith): \(size) vs \(baseline) bytes")
                }
            }
        }
    }
}

@Test func mosaicAndSharedTablesDecodeAlike() throws {
    // Tables mode codes each tile at its true size (28×28, libjpeg pads the partial blocks), the
    // mosaic pads each tile to a 32×32 slot by edge replication: the same 8×8 blocks either way.
    let codec = try JPEGTensorCodec()
    var identical: [String] = [], different: [String] = []
    let cases: [([Float], Int, Int, TileLayout)] = [
        (smoothRowsTensor(rows: 64, seed: 8), 64, 784, rows28),
        (smoothMatrix(rows: 100, columns: 37, seed: 9), 100, 37, .matrix(tileHeight: 64, tileWidth: 64)),
        (smoothMatrix(rows: 300, columns: 200, seed: 10), 300, 200, .defaultMatrix),
    ]
    for (values, rows, columns, layout) in cases {
        for scale in ScaleMode.allCases {
            for q in [20, 75] {
                let m = try roundTrip(codec, values, rows: rows, columns: columns,
                                      JPEGTensorParameters(layout: layout, scale: scale, pack: .mosaic, quality: q))
                let t = try roundTrip(codec, values, rows: rows, columns: columns,
                                      JPEGTensorParameters(layout: layout, scale: scale, pack: .sharedTables, quality: q))
                let sm = try errorStats(values, m.decoded, payloads: m.payloads, rows: rows, columns: columns, parameters: m.parameters)
                let st = try errorStats(values, t.decoded, payloads: t.payloads, rows: rows, columns: columns, parameters: t.parameters)
                let label = "\(layout) \(scale) q\(q)"
                #expect(abs(sm.rms - st.rms) <= 0.05 * max(sm.rms, st.rms), "\(label): rms \(sm.rms) vs \(st.rms)")
                (m.decoded == t.decoded ? { identical.append(label) } : { different.append(label) })()
            }
        }
    }
    // Observed with libjpeg-turbo: the two packings give bit-identical weights.
    #expect(different.isEmpty, "mosaic and tables differ for \(different); identical for \(identical)")
}

@Test func malformedPayloadsThrowCodecErrors() throws {
    let codec = try JPEGTensorCodec()
    let a = smoothRowsTensor(rows: 20, seed: 11)
    let b = smoothMatrix(rows: 100, columns: 37, seed: 12)
    for pack in PackMode.allCases {
        for scale in ScaleMode.allCases {
            let (pa, payA) = try codec.encode(a, rows: 20, columns: 784,
                                              parameters: JPEGTensorParameters(layout: rows28, scale: scale, pack: pack, quality: 50))
            let (pb, payB) = try codec.encode(b, rows: 100, columns: 37,
                                              parameters: JPEGTensorParameters(layout: .matrix(tileHeight: 64, tileWidth: 64),
                                                                               scale: scale, pack: pack, quality: 50))
            // Another tensor with a's shape and layout, different content.
            let (_, payC) = try codec.encode(smoothRowsTensor(rows: 20, seed: 13).map { $0 * 3 }, rows: 20, columns: 784,
                                              parameters: pa)
            var bad: [(String, [[UInt8]])] = [
                ("no payloads", []),
                ("scales only", [payA[0]]),
                ("one payload too many", payA + [payA.last!]),
                ("empty scale payload", [[]] + payA.dropFirst()),
                ("scale payload truncated by one byte", [Array(payA[0].dropLast())] + payA.dropFirst()),
                ("scale payload one byte long", [Array(payA[0].prefix(1))] + payA.dropFirst()),
                ("scale payload with an extra byte", [payA[0] + [0]] + payA.dropFirst()),
                ("unknown scale precision", [[3] + payA[0].dropFirst()] + payA.dropFirst()),
                ("another tensor's payloads", payB),
                ("another tensor's image", [payA[0]] + payB.dropFirst()),
                ("image truncated", payA.dropLast() + [Array(payA.last!.dropLast(payA.last!.count / 2))]),
                ("image empty", payA.dropLast() + [[]]),
                ("image garbage", payA.dropLast() + [(0..<500).map { UInt8(truncatingIfNeeded: $0 &* 37) }]),
            ]
            // Non-finite or reversed scales.
            var nan = payA[0]
            if nan[0] == 2 { nan[1] = 0x00; nan[2] = 0x7E } else { nan.replaceSubrange(1..<5, with: [0, 0, 0xC0, 0x7F]) }
            bad.append(("NaN scale", [nan] + payA.dropFirst()))
            if pack == .sharedTables {
                // (Another tensor's tables stream of the same quality is byte-identical, so it is not a fault.)
                bad.append(("tables and streams swapped", [payA[0], payA[2], payA[1]]))
                bad.append(("tile streams cut at a varint", [payA[0], payA[1], [0x80]]))
                bad.append(("extra bytes after the last tile", [payA[0], payA[1], payA[2] + [0]]))
                bad.append(("empty tables", [payA[0], [], payA[2]]))
            }
            for (label, payloads) in bad {
                do {
                    _ = try codec.decode(payloads, rows: 20, columns: 784, parameters: pa)
                    Issue.record("\(pack) \(scale): \(label) decoded")
                } catch {
                    #expect(!error.reason.isEmpty)
                }
            }
            // Layout/shape mismatches.
            #expect(throws: CodecError.self) { _ = try codec.decode(payA, rows: 20, columns: 783, parameters: pa) }
            #expect(throws: CodecError.self) { _ = try codec.decode(payA, rows: 0, columns: 784, parameters: pa) }
            #expect(throws: CodecError.self) { _ = try codec.decode(payB, rows: 100, columns: 37, parameters: pa) }
            #expect(throws: CodecError.self) { _ = try codec.decode(payA, rows: 100, columns: 37, parameters: pb) }
            // A swapped image of the same geometry decodes (JPEG cannot tell), to the other tensor's pixels.
            let swapped = try codec.decode([payA[0]] + payC.dropFirst(), rows: 20, columns: 784, parameters: pa)
            #expect(swapped.count == 20 * 784)
            // The codec is still usable after all those failures.
            #expect(try codec.decode(payA, rows: 20, columns: 784, parameters: pa).count == 20 * 784)
        }
    }
}

@Test func parametersRejectMalformedBytes() {
    let p = JPEGTensorParameters(layout: rows28, scale: .tile, pack: .mosaic, quality: 20, mosaicColumns: 8, tilesPerImage: 64)
    let good = p.serialized()
    #expect(good.count == 17)
    #expect(JPEGTensorParameters(bytes: good) == p)
    #expect(JPEGTensorParameters(bytes: Array(good.dropLast())) == nil)
    #expect(JPEGTensorParameters(bytes: good + [0]) == nil)
    for (index, value) in [(0, 2), (1, 0), (5, 2), (6, 2), (7, 101), (8, 8), (15, 1)] as [(Int, UInt8)] {
        var b = good
        b[index] = value
        if index == 1 { b[2] = 0 }  // height 0
        #expect(JPEGTensorParameters(bytes: b) == nil, "byte \(index) = \(value)")
    }
    // A mosaic needs columns ≥ 1 and tilesPerImage ≥ columns.
    var noColumns = p
    noColumns.mosaicColumns = 0
    #expect(JPEGTensorParameters(bytes: noColumns.serialized()) == nil)
    var few = p
    few.tilesPerImage = 4
    #expect(JPEGTensorParameters(bytes: few.serialized()) == nil)
    // Coding byte and parameters.
    #expect((try? TensorCoding(code: 3, parameters: good)) == .jpeg(p))
    #expect((try? TensorCoding(code: 0, parameters: [])) == .exact)
    #expect((try? TensorCoding(code: 1, parameters: [1])) == nil)
    #expect((try? TensorCoding(code: 4, parameters: [])) == nil)
    #expect((try? TensorCoding(code: 3, parameters: [])) == nil)
}
