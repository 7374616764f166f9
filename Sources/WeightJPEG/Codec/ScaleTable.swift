/// The per-tile (or per-tensor) pixel mappings of a JPEG-coded tensor, as stored in its first
/// payload: a precision byte (2 = float16, 4 = float32), then `lo, hi` per mapping, little-endian.
/// Float16 is used whenever it is exact for every stored value (the encoder rounds the end points
/// outward to float16 before mapping), so scales cost 4 bytes per tile.
struct ScaleTable: Equatable {
    var mappings: [PixelMapping]

    /// One mapping for the whole tensor, or one per tile of `layout`.
    static func fit(values: [Float], layout: TileLayout, rows: Int, columns: Int, mode: ScaleMode) -> ScaleTable {
        let inRange = values.allSatisfy { abs($0) <= 60_000 }
        switch mode {
        case .tensor:
            return ScaleTable(mappings: [PixelMapping.covering(values, halfPrecision: inRange)])
        case .tile:
            let n = layout.tileCount(rows: rows, columns: columns)
            var mappings: [PixelMapping] = []
            mappings.reserveCapacity(n)
            for t in 0..<n {
                var lo = Float.infinity, hi = -Float.infinity
                layout.forEachElement(ofTile: t, rows: rows, columns: columns) { _, _, i in
                    lo = min(lo, values[i]); hi = max(hi, values[i])
                }
                mappings.append(PixelMapping.covering([lo, hi], halfPrecision: inRange))
            }
            return ScaleTable(mappings: mappings)
        }
    }

    /// Whether every end point is exactly a float16 value.
    var fitsHalf: Bool { mappings.allSatisfy { HalfPrecision.isExact($0.lo) && HalfPrecision.isExact($0.hi) } }

    func serialized() -> [UInt8] {
        var w = ByteWriter()
        let half = fitsHalf
        w.u8(half ? 2 : 4)
        for m in mappings {
            if half {
                w.u16(HalfPrecision.halfBits(from: m.lo)); w.u16(HalfPrecision.halfBits(from: m.hi))
            } else {
                w.f32(m.lo); w.f32(m.hi)
            }
        }
        return w.bytes
    }

    /// Parses a scale payload that must hold exactly `count` mappings.
    init(bytes: [UInt8], count: Int) throws(CodecError) {
        var r = ByteReader(bytes)
        guard let precision = try? r.u8(), precision == 2 || precision == 4,
              r.remaining == count * 2 * Int(precision) else {
            throw CodecError(tensor: "", reason: "scale payload has \(bytes.count) bytes, expected \(count) scale pairs")
        }
        var ms: [PixelMapping] = []
        ms.reserveCapacity(count)
        for _ in 0..<count {
            let lo: Float, hi: Float
            if precision == 2 {
                lo = HalfPrecision.float(fromHalfBits: try! r.u16()); hi = HalfPrecision.float(fromHalfBits: try! r.u16())
            } else {
                lo = try! r.f32(); hi = try! r.f32()
            }
            guard lo.isFinite, hi.isFinite, lo <= hi else {
                throw CodecError(tensor: "", reason: "scale pair (\(lo), \(hi)) is not a finite range")
            }
            ms.append(PixelMapping(lo: lo, hi: hi))
        }
        mappings = ms
    }

    init(mappings: [PixelMapping]) { self.mappings = mappings }

    /// The mapping of tile `t`.
    @inline(__always)
    func mapping(tile t: Int) -> PixelMapping { mappings.count == 1 ? mappings[0] : mappings[t] }
}
