import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEGTools

// MARK: - Test tensors

/// `rows × 784`: each row a smooth random 28×28 image (low-frequency waves and a tilt), values ~±0.1.
private func smoothRowsTensor(rows: Int, seed: UInt64) -> [Float] {
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
private func smoothMatrix(rows: Int, columns: Int, seed: UInt64) -> [Float] {
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

private let rows28 = TileLayout.rows(height: 28, width: 28)

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

// MARK: - Pixel mapping

@Test func pixelMappingRoundTripsWithinHalfAStep() {
    var rng = RandomSource(seed: 21)
    for _ in 0..<50 {
        let a = rng.uniform(10), b = rng.uniform(10)
        let m = PixelMapping(lo: min(a, b), hi: max(a, b))
        guard !m.isConstant else { continue }
        for _ in 0..<200 {
            let w = m.lo + (m.hi - m.lo) * (rng.uniform(0.5) + 0.5)
            let back = m.value(m.pixel(w))
            #expect(abs(back - w) <= m.step / 2 * 1.0001 + 1e-6, "\(w) → \(m.pixel(w)) → \(back), step \(m.step)")
        }
        #expect(m.pixel(m.lo) == 0 && m.pixel(m.hi) == 255)
        #expect(m.value(0) == m.lo)
        #expect(abs(m.value(255) - m.hi) <= 1e-5 * max(abs(m.hi), 1))
        // Out-of-range values clamp.
        #expect(m.pixel(m.lo - 100) == 0 && m.pixel(m.hi + 100) == 255)
    }
    for p in 0...255 {
        let m = PixelMapping(lo: -1, hi: 1)
        #expect(m.pixel(m.value(UInt8(p))) == UInt8(p))
    }
}

@Test func constantPixelMappingIsExact() {
    for c: Float in [0.1, -7.25, 0, 1e-20, 3e38] {
        let m = PixelMapping(lo: c, hi: c)
        #expect(m.isConstant)
        #expect(m.pixel(c) == 128)
        for p: UInt8 in [0, 1, 128, 200, 255] { #expect(m.value(p) == c) }
        let covering = PixelMapping.covering([c, c, c], halfPrecision: true)
        #expect(covering.lo == c && covering.hi == c)
    }
    #expect(PixelMapping.covering([Float](), halfPrecision: true) == PixelMapping(lo: 0, hi: 0))
}

@Test func halfPrecisionCoveringRoundsOutward() {
    var rng = RandomSource(seed: 22)
    for trial in 0..<500 {
        let scale: Float = [1e-4, 0.01, 1, 100, 30_000][trial % 5]
        let values = (0..<(1 + trial % 9)).map { _ in rng.uniform(scale) }
        let m = PixelMapping.covering(values, halfPrecision: true)
        let lo = values.min()!, hi = values.max()!
        #expect(m.lo <= lo && m.hi >= hi, "\(values): [\(m.lo), \(m.hi)]")
        if lo != hi {
            #expect(HalfPrecision.isExact(m.lo) && HalfPrecision.isExact(m.hi))
            // Outward by at most one float16 step (relative 2⁻¹⁰, or the subnormal spacing).
            #expect(lo - m.lo <= max(abs(lo) / 1024, 6e-8) * 1.001)
            #expect(m.hi - hi <= max(abs(hi) / 1024, 6e-8) * 1.001)
        }
        let plain = PixelMapping.covering(values, halfPrecision: false)
        #expect(plain.lo == lo && plain.hi == hi)
    }
    // Edge cases around zero, the subnormals and the top of the float16 range.
    for (lo, hi) in [(Float(-1e-9), Float(1e-9)), (0, 5.9e-8), (-65504, 65504), (-60_000, 59_999.9), (1, 1.0001)] {
        let m = PixelMapping.covering([lo, hi], halfPrecision: true)
        #expect(m.lo <= lo && m.hi >= hi && m.lo.isFinite && m.hi.isFinite, "[\(lo), \(hi)] → [\(m.lo), \(m.hi)]")
    }
}

@Test func scaleTableFallsBackToFloat32() throws {
    // In float16 range: 2 bytes per end point; a constant 0.1 tile forces float32 (4 bytes).
    let layout = TileLayout.rows(height: 2, width: 2)
    let half = ScaleTable.fit(values: [0, 1, 2, 3, 4, 5, 6, 7], layout: layout, rows: 2, columns: 4, mode: .tile)
    #expect(half.serialized().count == 1 + 2 * 4)
    #expect(try ScaleTable(bytes: half.serialized(), count: 2) == half)
    let mixed = ScaleTable.fit(values: [0, 1, 2, 3, 0.1, 0.1, 0.1, 0.1], layout: layout, rows: 2, columns: 4, mode: .tile)
    #expect(mixed.serialized().count == 1 + 2 * 8)
    #expect(try ScaleTable(bytes: mixed.serialized(), count: 2) == mixed)
    #expect(mixed.mappings[1] == PixelMapping(lo: 0.1, hi: 0.1))
    // Out of float16 range: float32 end points, exact.
    let wide = ScaleTable.fit(values: [-1e6, 1e6, 0, 1], layout: layout, rows: 1, columns: 4, mode: .tensor)
    #expect(wide.mappings == [PixelMapping(lo: -1e6, hi: 1e6)])
    #expect(throws: CodecError.self) { _ = try ScaleTable(bytes: half.serialized(), count: 3) }
    #expect(throws: CodecError.self) { _ = try ScaleTable(bytes: [2, 0x00, 0x3C, 0x00, 0x38], count: 1) }  // lo 1 > hi 0.5
    #expect(throws: CodecError.self) { _ = try ScaleTable(bytes: [2, 0x00, 0x7C, 0x00, 0x7C], count: 1) }  // +inf
}

// MARK: - Tile layout

@Test func tileLayoutParsing() {
    #expect(TileLayout("rows:28x28") == .rows(height: 28, width: 28))
    #expect(TileLayout("rows:28X14") == .rows(height: 28, width: 14))
    #expect(TileLayout("matrix") == .defaultMatrix)
    #expect(TileLayout("matrix") == .matrix(tileHeight: 64, tileWidth: 64))
    #expect(TileLayout("matrix:64x32") == .matrix(tileHeight: 64, tileWidth: 32))
    #expect(TileLayout("matrix:1x4096") == .matrix(tileHeight: 1, tileWidth: 4096))
    for bad in ["", "rows", "rows:", "rows:28", "rows:28x", "rows:x28", "rows:0x28", "rows:28x0", "rows:-1x28",
                "rows:28x28x28", "rows:4097x1", "matrix:64", "matrix:64x", "matrix:0x64", "matrix:64x5000",
                "Rows:28x28", "cols:28x28", "matrix:abcxdef", "rows:28x28:1", " rows:28x28", "matrix:99999999999999999999x1"] {
        #expect(TileLayout(bad) == nil, "'\(bad)' parsed")
    }
    for layout in [TileLayout.rows(height: 28, width: 28), .matrix(tileHeight: 64, tileWidth: 32), .defaultMatrix] {
        #expect(TileLayout(layout.description) == layout)
    }
}

@Test func tileLayoutParsingRejectsEmptyFields() {
    // `split` drops empty pieces by default, so an empty size after "matrix:" and doubled or
    // leading "x" separators are silently accepted; `compactMap` drops non-numeric pieces too.
    for bad in ["matrix:", "rows:28xx28", "matrix:x64x64", "matrix:64x64x", "rows:28xjunkx28"] {
        #expect(TileLayout(bad) == nil, "'\(bad)' parsed as \(String(describing: TileLayout(bad)))")
    }
}

@Test func tileLayoutFitsAndGrid() {
    #expect(rows28.fits(rows: 512, columns: 784))
    #expect(!rows28.fits(rows: 512, columns: 783))
    #expect(!rows28.fits(rows: 0, columns: 784))
    #expect(TileLayout.defaultMatrix.fits(rows: 1, columns: 1))
    #expect(!TileLayout.defaultMatrix.fits(rows: 0, columns: 5))
    #expect(!TileLayout.defaultMatrix.fits(rows: 5, columns: 0))
    #expect(rows28.tileCount(rows: 512, columns: 784) == 512)
    #expect(TileLayout.defaultMatrix.grid(rows: 300, columns: 200) == (5, 4))
    #expect(TileLayout.defaultMatrix.tileCount(rows: 128, columns: 64) == 2)
    #expect(TileLayout.defaultMatrix.size(ofTile: 19, rows: 300, columns: 200) == (44, 8))
    #expect(TileLayout.defaultMatrix.size(ofTile: 3, rows: 300, columns: 200) == (64, 8))
    #expect(TileLayout.defaultMatrix.size(ofTile: 16, rows: 300, columns: 200) == (44, 64))
}

@Test func everyElementBelongsToExactlyOneTile() {
    let cases: [(TileLayout, Int, Int)] = [
        (.matrix(tileHeight: 64, tileWidth: 64), 100, 37),
        (.matrix(tileHeight: 64, tileWidth: 64), 300, 200),
        (.matrix(tileHeight: 64, tileWidth: 64), 128, 128),
        (.matrix(tileHeight: 3, tileWidth: 5), 7, 11),
        (.matrix(tileHeight: 1, tileWidth: 1), 4, 3),
        (.matrix(tileHeight: 64, tileWidth: 64), 1, 1),
        (.matrix(tileHeight: 8, tileWidth: 64), 65, 10),
        (.rows(height: 28, width: 28), 5, 784),
        (.rows(height: 3, width: 4), 6, 12),
    ]
    for (layout, rows, columns) in cases {
        var seen = [Int](repeating: 0, count: rows * columns)
        let tiles = layout.tileCount(rows: rows, columns: columns)
        let across = layout.grid(rows: rows, columns: columns).across
        var elements = 0
        for t in 0..<tiles {
            let (h, w) = layout.size(ofTile: t, rows: rows, columns: columns)
            #expect(h >= 1 && w >= 1 && h <= layout.tileSize.height && w <= layout.tileSize.width)
            var visited = 0
            layout.forEachElement(ofTile: t, rows: rows, columns: columns) { y, x, i in
                #expect(i == layout.elementIndex(tile: t, y: y, x: x, columns: columns, across: across))
                #expect(y < h && x < w)
                if i >= 0 && i < seen.count { seen[i] += 1 } else { Issue.record("\(layout) tile \(t): index \(i) out of range") }
                visited += 1
            }
            #expect(visited == h * w)
            elements += h * w
        }
        #expect(elements == rows * columns, "\(layout) \(rows)×\(columns)")
        #expect(seen.allSatisfy { $0 == 1 }, "\(layout) \(rows)×\(columns): some element covered \(seen.max()!) or 0 times")
    }
}

@Test func mosaicGeometryCoversEveryTile() {
    for (count, slotH, slotW) in [(512, 32, 32), (1, 8, 8), (20, 64, 64), (5000, 32, 32), (3, 64, 40)] {
        let m = Mosaic.choose(tileCount: count, slotHeight: slotH, slotWidth: slotW)
        #expect(m.columns >= 1 && m.tilesPerImage >= m.columns)
        var covered = 0
        for k in 0..<m.imageCount {
            let (width, height) = m.size(ofImage: k)
            #expect(width <= JPEG.maxDimension && height <= JPEG.maxDimension)
            var slots = Set<[Int]>()
            for t in m.tiles(inImage: k) {
                let (x, y) = m.origin(ofTile: t)
                #expect(x + slotW <= width && y + slotH <= height)
                #expect(slots.insert([x, y]).inserted)
                covered += 1
            }
        }
        #expect(covered == count)
    }
}

// MARK: - One codec per coding; the JPEG payload layout parsed once

@Test func everyCodingRoundTripsThroughItsTensorCodec() throws {
    let jpeg = try JPEGTensorCodec()
    let values = smoothMatrix(rows: 40, columns: 70, seed: 11)
    let shape = [40, 70]
    let codings: [TensorCoding] = [
        .exact, .float16, .int8PerRow, .entropyUniform(step: 0.002), .fixedRows(bits: 9),
        .jpeg(JPEGTensorParameters(layout: .matrix(tileHeight: 16, tileWidth: 32), scale: .tile, pack: .mosaic, quality: 90)),
        .jpeg(JPEGTensorParameters(layout: .matrix(tileHeight: 16, tileWidth: 32), scale: .tensor, pack: .sharedTables, quality: 90)),
    ]
    for coding in codings {
        let coded = try #require(try coding.encode(values, shape: shape, dtype: .F32, jpeg: jpeg), "\(coding)")
        #expect(coded.coding.code == coding.code)
        let back = try coded.coding.codec().decode(coded.payloads, shape: shape, dtype: .F32, jpeg: jpeg)
        let worst = zip(values, back).map { abs($0 - $1) }.max() ?? 0
        // The field spans about ±0.4: every lossy coding here keeps each weight within 4% of that.
        #expect(back.count == values.count && worst < 0.03, "\(coding): max error \(worst)")
        if coding == .exact { #expect(back == values) }
    }
}

@Test func jpegPayloadsAreParsedWithTheirGeometry() throws {
    let codec = try JPEGTensorCodec()
    let rows = 30, columns = 784
    let values = smoothRowsTensor(rows: rows, seed: 12)
    for pack in PackMode.allCases {
        let p = JPEGTensorParameters(layout: .rows(height: 28, width: 28), scale: .tile, pack: pack, quality: 50)
        let coded = try codec.encode(values, rows: rows, columns: columns, parameters: p)
        let payloads = try JPEGTensorPayloads(coded.payloads, rows: rows, columns: columns, parameters: coded.parameters)
        #expect(payloads.tileCount == rows)
        #expect(payloads.images.flatMap { Array($0.tiles) } == Array(0..<rows), "\(pack): every tile once, in order")
        #expect((payloads.tables != nil) == (pack == .sharedTables))
        // Every image as a standalone stream decodes, on a fresh decoder, to the size the header implies.
        for (image, stream) in zip(payloads.images, try payloads.standaloneStreams()) {
            let decoded = try JPEGDecoder().decode(stream, maxPixels: image.width * image.height)
            #expect(decoded.width == image.width && decoded.height == image.height, "\(pack)")
        }
        // Pixel decoding of the parsed payloads equals decoding the raw ones.
        #expect(try codec.decode(payloads) == codec.decode(coded.payloads, rows: rows, columns: columns, parameters: coded.parameters))
        // The mosaic images the encoder fed to libjpeg, rebuilt, re-encode to the very streams.
        if pack == .mosaic {
            let images = JPEGTensorCodec.mosaicImages(of: values, payloads: payloads)
            #expect(images.count == payloads.images.count)
            for (k, image) in images.enumerated() {
                #expect(try JPEGEncoder().encode(image, options: coded.parameters.jpegOptions()) == coded.payloads[1 + k])
            }
        }
    }
    // Structure errors are found when parsing, before any stream is decoded.
    let p = JPEGTensorParameters(layout: .rows(height: 28, width: 28), scale: .tensor, pack: .sharedTables, quality: 50)
    let coded = try codec.encode(values, rows: rows, columns: columns, parameters: p)
    var truncated = coded.payloads
    truncated[2].removeLast()
    #expect(throws: CodecError.self) { try JPEGTensorPayloads(truncated, rows: rows, columns: columns, parameters: coded.parameters) }
    var extra = coded.payloads
    extra[2].append(0)
    #expect(throws: CodecError.self) { try JPEGTensorPayloads(extra, rows: rows, columns: columns, parameters: coded.parameters) }
}
