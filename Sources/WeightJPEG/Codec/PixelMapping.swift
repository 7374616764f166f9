/// The affine map between a tile's floats and 8-bit pixels: `pixel = round((w − lo) / (hi − lo) · 255)`
/// and back `w = lo + pixel · (hi − lo) / 255`. A constant tile (`hi == lo`) maps to pixel 128 and
/// back to `lo` exactly.
public struct PixelMapping: Equatable, Sendable {
    /// The float that pixel 0 stands for.
    public var lo: Float
    /// The float that pixel 255 stands for.
    public var hi: Float

    /// A mapping from its end points.
    public init(lo: Float, hi: Float) {
        self.lo = lo
        self.hi = hi
    }

    /// Value per pixel step: `(hi − lo) / 255`.
    public var step: Float { (hi - lo) / 255 }

    /// Whether the tile is constant (every pixel decodes to `lo`).
    public var isConstant: Bool { hi == lo }

    /// The pixel for `w` (clamped to 0…255).
    @inline(__always)
    public func pixel(_ w: Float) -> UInt8 {
        if isConstant { return 128 }
        let p = ((w - lo) / (hi - lo) * 255).rounded()
        return UInt8(min(max(p, 0), 255))
    }

    /// The float for `pixel`.
    @inline(__always)
    public func value(_ pixel: UInt8) -> Float {
        isConstant ? lo : lo + Float(pixel) * step
    }

    /// The tightest mapping covering `values`, with end points rounded outward to float16 when
    /// `halfPrecision` (so the stored scales are exact and every value stays within range).
    public static func covering<C: Collection>(_ values: C, halfPrecision: Bool) -> PixelMapping where C.Element == Float {
        var lo = Float.infinity, hi = -Float.infinity
        for v in values { lo = min(lo, v); hi = max(hi, v) }
        if lo > hi { return PixelMapping(lo: 0, hi: 0) }
        guard halfPrecision, lo != hi else { return PixelMapping(lo: lo, hi: hi) }
        return PixelMapping(lo: HalfPrecision.roundedDown(lo), hi: HalfPrecision.roundedUp(hi))
    }
}

extension HalfPrecision {
    /// The largest float16 value ≤ `x` (as a Float); `x` must be finite and within float16 range.
    static func roundedDown(_ x: Float) -> Float {
        var h = float(fromHalfBits: halfBits(from: x))
        if h > x { h = float(fromHalfBits: nextHalf(halfBits(from: h), up: false)) }
        return h
    }

    /// The smallest float16 value ≥ `x` (as a Float).
    static func roundedUp(_ x: Float) -> Float {
        var h = float(fromHalfBits: halfBits(from: x))
        if h < x { h = float(fromHalfBits: nextHalf(halfBits(from: h), up: true)) }
        return h
    }

    /// Whether `x` is exactly a float16 value.
    static func isExact(_ x: Float) -> Bool { float(fromHalfBits: halfBits(from: x)) == x }

    /// The neighbouring float16 bit pattern towards +∞ (`up`) or −∞.
    private static func nextHalf(_ bits: UInt16, up: Bool) -> UInt16 {
        let negative = bits & 0x8000 != 0
        if bits & 0x7FFF == 0 { return up ? 0x0001 : 0x8001 }
        // Moving away from zero increments the magnitude; towards zero decrements it.
        return (up != negative) ? bits + 1 : bits - 1
    }
}
