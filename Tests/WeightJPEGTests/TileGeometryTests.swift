import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEGTools

// Where a tensor's floats go in pixels: the float↔pixel mapping of a tile, the tile layouts, and the
// mosaic geometry (every element in exactly one tile).

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
            #expect(width <= Mosaic.maximumSide && height <= Mosaic.maximumSide)
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
    // Up to 2048² pixels one image, as before the cap (the founding layer: 512 slots of 32 × 32);
    // beyond, near-square images of at most 2048 a side.
    #expect(Mosaic.choose(tileCount: 512, slotHeight: 32, slotWidth: 32).imageCount == 1)
    let big = Mosaic.choose(tileCount: 6000, slotHeight: 64, slotWidth: 64)
    #expect(big.columns == 32 && big.tilesPerImage == 1024 && big.imageCount == 6)
}
