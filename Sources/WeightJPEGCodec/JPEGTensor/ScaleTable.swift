import WeightJPEGCore
import WeightJPEGFormats
/// The per-tile (or per-tensor) pixel mappings of a JPEG-coded tensor, as stored in its first
/// payload: a precision byte (2 = float16, 4 = float32), then `lo, hi` per mapping, little-endian.
/// Float16 is used whenever it is exact for every stored value (the encoder rounds the end points
/// outward to float16 before mapping), so scales cost 4 bytes per tile.
package struct ScaleTable: Equatable {
    var mappings: [PixelMapping]

    /// One mapping for the whole tensor, or one per tile of `layout`.
    static func fit(values: [Float], layout: TileLayout, rows: Int, columns: Int, mode: ScaleMode) -> ScaleTable {
        // Float16 end points need every value well inside float16's range (±65,504).
        func covering(_ lo: Float, _ hi: Float) -> PixelMapping {
            PixelMapping.covering([lo, hi], halfPrecision: max(abs(lo), abs(hi)) <= 60_000)
        }
        switch mode {
        case .tensor:
            let (lo, hi) = values.withUnsafeBufferPointer { Self.range($0.baseAddress!, count: $0.count) }
            return ScaleTable(mappings: [lo > hi ? PixelMapping(lo: 0, hi: 0) : covering(lo, hi)])
        case .tile:
            let n = layout.tileCount(rows: rows, columns: columns)
            let across = layout.grid(rows: rows, columns: columns).across
            var mappings: [PixelMapping] = []
            mappings.reserveCapacity(n)
            values.withUnsafeBufferPointer { v in
                for t in 0..<n {
                    var lo = Float.infinity, hi = -Float.infinity
                    let (h, w) = layout.size(ofTile: t, rows: rows, columns: columns)
                    for y in 0..<h {
                        let r = Self.range(v.baseAddress! + layout.rowStart(tile: t, y: y, columns: columns, across: across), count: w)
                        lo = min(lo, r.lo); hi = max(hi, r.hi)
                    }
                    mappings.append(covering(lo, hi))
                }
            }
            return ScaleTable(mappings: mappings)
        }
    }

    /// Minimum and maximum of `count` finite values (+∞, −∞ when empty). Written as compare-and-select
    /// so the compiler can turn it into vector min/max instructions (Swift's generic SIMD types and
    /// `min`/`max` were measured much slower here).
    static func range(_ v: UnsafePointer<Float>, count: Int) -> (lo: Float, hi: Float) {
        var lo = Float.infinity, hi = -Float.infinity
        for i in 0..<count {
            let x = v[i]
            lo = x < lo ? x : lo
            hi = x > hi ? x : hi
        }
        return (lo, hi)
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
